-- The close pack's Invoices: every document of the month (drafts included, status says which).
SELECT coalesce(invoice_number, '(draft)') AS invoice_number, tenant_slug, document_type, status, currency,
       subtotal_minor, tax_minor, total_minor, issued_at
FROM marts.tenant_invoices
WHERE period_start = $month_start
ORDER BY tenant_slug, correction_seq
