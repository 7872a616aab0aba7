-- One tenant's recorded payments, newest first, with the invoice each paid and any reversal.
SELECT p.payment_id, i.invoice_number, strftime(i.period_start, '%Y-%m') AS period, p.amount_minor, p.currency,
       p.paid_at, r.reversal_id IS NOT NULL AS reversed
FROM revenue.payments p
LEFT JOIN revenue.tenant_invoices i USING (invoice_id)
LEFT JOIN revenue.payment_reversals r USING (payment_id)
WHERE p.tenant_id = $tenant_id
ORDER BY p.paid_at DESC, p.payment_id
LIMIT $limit
