-- The window's cost per deployment (unallocated as its own rows), largest first, for the preview.
SELECT strftime(c.period_start, '%Y-%m') AS period, coalesce(t.slug, '—') AS tenant,
       coalesce(d.slug, 'unallocated') AS deployment, c.cost_type, string_agg(DISTINCT c.resource_kind, ', ' ORDER BY c.resource_kind) AS kinds,
       sum(c.amount_minor) AS amount_minor
FROM cogs.deployment_costs c
LEFT JOIN staging.deployments d USING (deployment_id) LEFT JOIN staging.tenants t ON t.tenant_id = c.tenant_id
WHERE c.period_start >= $window_start AND c.period_start < $window_end
GROUP BY ALL ORDER BY period, amount_minor DESC
