-- The lines of the window's issued tenant documents.
SELECT l.invoice_id, l.line_number, l.kind, l.description, CAST(l.quantity AS VARCHAR),
       CAST(l.unit_amount_minor AS VARCHAR), l.amount_minor, l.deployment_id, CAST(l.tax_rate AS VARCHAR)
FROM revenue.tenant_invoice_lines l
JOIN revenue.tenant_invoices i ON i.invoice_id = l.invoice_id
WHERE i.status <> 'draft' AND i.period_start >= $window_start AND i.period_start < $window_end
ORDER BY l.invoice_id, l.line_number
