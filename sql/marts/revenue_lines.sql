-- Issued revenue lines (invoices, supplementary invoices, credit notes; no drafts, no tax) of
-- [$window_start, $window_end), converted to USD cents: amount x rate x 10^(2 - exponent), half-up,
-- in DECIMAL throughout (no DOUBLE: pow() and division are avoided on purpose).
CREATE OR REPLACE TEMP TABLE revenue_lines AS
SELECT i.period_start, i.tenant_id, l.deployment_id, i.currency, l.kind, l.metric,
       coalesce(k.resource_kind, 'platform') AS resource_kind, l.amount_minor,
       CAST(round(l.amount_minor * CASE WHEN i.currency = 'USD' THEN 1.0 ELSE fx.usd_per_unit END
                  * CASE e.exponent WHEN 0 THEN 100.0 WHEN 1 THEN 10.0 WHEN 2 THEN 1.0 WHEN 3 THEN 0.1 END)
            AS BIGINT) AS amount_usd_minor,
       i.status
FROM revenue.tenant_invoices i
JOIN revenue.tenant_invoice_lines l USING (invoice_id)
JOIN margin.currency_exponents e ON e.currency = i.currency
LEFT JOIN margin.fx_rates fx ON fx.currency = i.currency AND fx.month = strftime(i.period_start, '%Y-%m')
LEFT JOIN margin.metric_resource_kinds k ON k.metric = l.metric
WHERE i.period_start >= $window_start AND i.period_start < $window_end;
