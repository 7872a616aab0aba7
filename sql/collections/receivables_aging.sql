-- Open receivables as of $as_of (a date): every issued invoice or supplementary invoice with money
-- still owed, its days past due and bucket, in its currency and in USD. Open = total + the credit
-- notes issued against it (their totals are negative) - payments not reversed. Due = issued + $terms_days.
-- USD at the rate of the document's service month (margin.fx_rates, as the margin marts), by usd_minor
-- (marts/usd_minor.sql, run first).
WITH credited AS (
    SELECT corrects_invoice_id AS invoice_id, sum(total_minor) AS credit_minor
    FROM revenue.tenant_invoices WHERE document_type = 'credit_note' AND status IN ('issued', 'paid')
      AND issued_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
    GROUP BY 1
), collected AS (
    SELECT p.invoice_id, sum(p.amount_minor) AS paid_minor
    FROM revenue.payments p ANTI JOIN revenue.payment_reversals r USING (payment_id)
    WHERE p.paid_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
    GROUP BY 1
), open_documents AS (
    SELECT i.invoice_id, i.invoice_number, i.document_type, i.tenant_id, i.currency, i.period_start, i.total_minor,
           CAST(i.issued_at + to_days(CAST($terms_days AS INTEGER)) AS DATE) AS due_date,
           i.total_minor + coalesce(c.credit_minor, 0) - coalesce(p.paid_minor, 0) AS open_minor
    FROM revenue.tenant_invoices i
    LEFT JOIN credited c USING (invoice_id)
    LEFT JOIN collected p USING (invoice_id)
    WHERE i.document_type <> 'credit_note' AND i.status IN ('issued', 'paid')
      AND i.issued_at < CAST($as_of AS DATE) + INTERVAL 1 DAY
)
SELECT CAST($as_of AS DATE) AS as_of_date, d.invoice_id, d.invoice_number, d.document_type, d.tenant_id,
       d.currency, d.total_minor, d.open_minor,
       usd_minor(d.open_minor, d.currency, fx.usd_per_unit, e.exponent) AS open_usd_minor,
       d.due_date, date_diff('day', d.due_date, CAST($as_of AS DATE)) AS days_past_due,
       CASE WHEN date_diff('day', d.due_date, CAST($as_of AS DATE)) <= 0 THEN 'current'
            WHEN date_diff('day', d.due_date, CAST($as_of AS DATE)) <= 30 THEN '1-30'
            WHEN date_diff('day', d.due_date, CAST($as_of AS DATE)) <= 60 THEN '31-60'
            WHEN date_diff('day', d.due_date, CAST($as_of AS DATE)) <= 90 THEN '61-90'
            ELSE '90+' END AS bucket
FROM open_documents d
LEFT JOIN margin.currency_exponents e ON e.currency = d.currency
LEFT JOIN margin.fx_rates fx ON fx.currency = d.currency AND fx.month = strftime(d.period_start, '%Y-%m')
WHERE d.open_minor > 0
ORDER BY d.tenant_id, d.due_date, d.invoice_number;
