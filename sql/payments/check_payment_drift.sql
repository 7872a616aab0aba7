-- Payment drift (after the reconciliation runbook): issued documents with no Stripe counterpart,
-- payments with no invoice, and Stripe amounts that differ from ours. Stripe's amount_due is
-- expected to be our total less the credit notes applied before payment and the tenant's Stripe
-- balance applied at finalization; partial payments change amount_paid/amount_remaining, never it.
WITH our_credit_notes AS (
    SELECT c.corrects_invoice_id AS invoice_id, -sum(c.total_minor) AS credited_minor
    FROM revenue.tenant_invoices c JOIN revenue.stripe_documents s USING (invoice_id)
    WHERE c.document_type = 'credit_note' GROUP BY 1
)
SELECT 'not in Stripe' AS finding, i.invoice_number AS subject, i.total_minor AS amount_minor
FROM revenue.tenant_invoices i LEFT JOIN revenue.stripe_documents s USING (invoice_id)
WHERE i.status IN ('issued', 'paid') AND i.total_minor <> 0 AND s.invoice_id IS NULL
UNION ALL
SELECT 'payment without invoice', p.payment_id, p.amount_minor
FROM revenue.payments p ANTI JOIN revenue.tenant_invoices i USING (invoice_id)
UNION ALL
SELECT 'total differs (Stripe - ours)', i.invoice_number, s.total_minor - i.total_minor
FROM revenue.stripe_invoice_status s JOIN revenue.tenant_invoices i USING (invoice_id)
WHERE s.total_minor <> i.total_minor
UNION ALL
SELECT 'amount due differs (Stripe - expected)', i.invoice_number,
       s.amount_due_minor - (i.total_minor - s.pre_payment_credit_notes_minor - s.customer_credit_applied_minor)
FROM revenue.stripe_invoice_status s JOIN revenue.tenant_invoices i USING (invoice_id)
WHERE s.amount_due_minor <> i.total_minor - s.pre_payment_credit_notes_minor - s.customer_credit_applied_minor
UNION ALL
SELECT 'credit notes differ (Stripe - ours)', i.invoice_number,
       s.pre_payment_credit_notes_minor + s.post_payment_credit_notes_minor - coalesce(c.credited_minor, 0)
FROM revenue.stripe_invoice_status s JOIN revenue.tenant_invoices i USING (invoice_id)
LEFT JOIN our_credit_notes c USING (invoice_id)
WHERE s.pre_payment_credit_notes_minor + s.post_payment_credit_notes_minor <> coalesce(c.credited_minor, 0)
ORDER BY 1, 2
