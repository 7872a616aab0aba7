-- The deployment_costs export: the marts view for the window's months, in a stable order.
SELECT * FROM marts.deployment_costs
WHERE period_start >= $window_start AND period_start < $window_end
ORDER BY period_start, tenant_slug NULLS LAST, deployment_slug NULLS LAST, resource_kind, cost_type, unallocated_reason
