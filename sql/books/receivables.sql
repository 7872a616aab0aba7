-- The window's issued tenant documents (issued, paid or void: never drafts) with their customer.
SELECT i.invoice_id, i.invoice_number, i.document_type, i.corrects_invoice_id, c.invoice_number, i.tenant_id, t.slug, t.name,
       t.billing_email, t.tax_jurisdiction, i.period_start, i.period_end, i.issued_at, i.currency,
       i.subtotal_minor, i.tax_minor, i.total_minor, CAST(i.tax_rate AS VARCHAR), i.tax_label
FROM revenue.tenant_invoices i
LEFT JOIN staging.tenants t ON t.tenant_id = i.tenant_id
LEFT JOIN revenue.tenant_invoices c ON c.invoice_id = i.corrects_invoice_id
WHERE i.status <> 'draft' AND i.period_start >= $window_start AND i.period_start < $window_end
ORDER BY i.period_start, i.invoice_number
