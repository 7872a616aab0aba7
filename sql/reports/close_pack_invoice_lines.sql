-- The close pack's Invoice lines: every line of every document of the month.
SELECT coalesce(invoice_number, '(draft)') AS invoice_number, tenant_slug, coalesce(deployment_slug, '') AS deployment,
       kind, description, quantity, currency, amount_minor
FROM marts.tenant_invoice_lines
WHERE period_start = $month_start
ORDER BY tenant_slug, invoice_number NULLS LAST, invoice_id, line_number
