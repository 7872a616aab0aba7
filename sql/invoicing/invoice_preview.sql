-- The window's documents for the asset preview: one row per document, largest first.
SELECT strftime(i.period_start, '%Y-%m') AS period, i.invoice_number, t.slug AS tenant, i.document_type,
       i.status, i.currency, i.subtotal_minor, i.tax_minor, i.total_minor
FROM revenue.tenant_invoices i LEFT JOIN staging.tenants t USING (tenant_id)
WHERE i.period_start >= $window_start AND i.period_start < $window_end
ORDER BY i.period_start, i.total_minor DESC, i.invoice_number
