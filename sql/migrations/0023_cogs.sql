-- The marts as an analyst reads them (with 0019-0024, one per area): every view ordered, so a bare
-- SELECT * comes back in a stable, meaningful order, with the tenant's slug (and, on documents, name)
-- and the deployment's slug beside their ids. Column sets only grow: every column keeps its name.

CREATE OR REPLACE VIEW marts.deployment_costs AS
SELECT c.period_start, c.tenant_id, t.slug AS tenant_slug, c.deployment_id, d.slug AS deployment_slug,
       c.resource_kind, c.cost_type, c.unallocated_reason, c.amount_minor, c.currency, c.line_count,
       c.allocation_method
FROM cogs.deployment_costs c
LEFT JOIN staging.tenants t ON t.tenant_id = c.tenant_id
LEFT JOIN staging.deployments d ON d.deployment_id = c.deployment_id
ORDER BY c.period_start, t.slug NULLS LAST, d.slug NULLS LAST, c.resource_kind, c.cost_type, c.unallocated_reason;
