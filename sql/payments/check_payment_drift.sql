-- Payment drift (after the reconciliation runbook): issued documents with no Stripe counterpart,
-- payments with no invoice, and Stripe amounts that differ from ours.
SELECT 'not in Stripe' AS finding, i.invoice_number AS subject, i.total_minor AS amount_minor
FROM revenue.tenant_invoices i LEFT JOIN revenue.stripe_documents s USING (invoice_id)
WHERE i.status IN ('issued', 'paid') AND i.total_minor <> 0 AND s.invoice_id IS NULL
UNION ALL
SELECT 'payment without invoice', p.payment_id, p.amount_minor
FROM revenue.payments p ANTI JOIN revenue.tenant_invoices i USING (invoice_id)
UNION ALL
SELECT 'amount differs (Stripe - ours)', i.invoice_number, s.amount_due_minor - i.total_minor
FROM revenue.stripe_invoice_status s JOIN revenue.tenant_invoices i USING (invoice_id)
WHERE s.amount_due_minor <> i.total_minor
ORDER BY 1, 2
