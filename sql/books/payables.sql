-- The window's DigitalOcean invoices (issued months only) with every cost line and what it paid for.
SELECT i.invoice_uuid, i.invoice_id, i.period_start, l.currency, l.line_number, l.product, l.description,
       l.amount_minor, l.is_tax, m.deployment_id, d.slug AS deployment_slug, m.tenant_id
FROM ingest.do_invoices i
JOIN ingest.do_cost_lines l ON l.period_start = i.period_start
LEFT JOIN cogs.cost_line_matches m ON m.invoice_uuid = l.invoice_uuid AND m.line_number = l.line_number
LEFT JOIN staging.deployments d ON d.deployment_id = m.deployment_id
WHERE i.status = 'issued' AND i.period_start >= $window_start AND i.period_start < $window_end
ORDER BY i.period_start, l.line_number
