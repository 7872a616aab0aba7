-- The close pack's Cost lines: every DigitalOcean line of the month with what it was matched to.
SELECT l.line_number, l.product, l.description, l.start_at, l.end_at, l.amount_minor, m.match_method, m.kind,
       t.slug AS tenant, d.slug AS deployment, m.unallocated_reason
FROM ingest.do_cost_lines l
LEFT JOIN cogs.cost_line_matches m ON m.invoice_uuid = l.invoice_uuid AND m.line_number = l.line_number
LEFT JOIN staging.tenants t ON t.tenant_id = m.tenant_id
LEFT JOIN staging.deployments d ON d.deployment_id = m.deployment_id
WHERE l.period_start = $month_start
ORDER BY l.line_number
