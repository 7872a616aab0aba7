-- Issued revenue lines (invoices, supplementary invoices, credit notes; no drafts, no tax) of
-- [$window_start, $window_end), converted to USD cents by usd_minor (marts/usd_minor.sql, run first).
CREATE OR REPLACE TEMP TABLE revenue_lines AS
SELECT i.period_start, i.tenant_id, l.deployment_id, i.currency, l.kind, l.metric,
       coalesce(k.resource_kind, 'platform') AS resource_kind, l.amount_minor,
       usd_minor(l.amount_minor, i.currency, fx.usd_per_unit, e.exponent) AS amount_usd_minor,
       i.status
FROM revenue.tenant_invoices i
JOIN revenue.tenant_invoice_lines l USING (invoice_id)
JOIN margin.currency_exponents e ON e.currency = i.currency
LEFT JOIN margin.fx_rates fx ON fx.currency = i.currency AND fx.month = strftime(i.period_start, '%Y-%m')
LEFT JOIN margin.metric_resource_kinds k ON k.metric = l.metric
WHERE i.period_start >= $window_start AND i.period_start < $window_end;
