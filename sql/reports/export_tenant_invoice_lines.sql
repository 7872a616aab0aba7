-- The tenant_invoice_lines export: the marts view for the window's months, in a stable order.
SELECT * FROM marts.tenant_invoice_lines
WHERE period_start >= $window_start AND period_start < $window_end
ORDER BY period_start, tenant_slug, invoice_number NULLS LAST, invoice_id, line_number
