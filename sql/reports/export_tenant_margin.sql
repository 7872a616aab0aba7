-- The tenant_margin export: the marts view for the window's months, in a stable order.
SELECT * FROM marts.tenant_margin
WHERE period_start >= $window_start AND period_start < $window_end
ORDER BY period_start, tenant_slug NULLS LAST, currency
