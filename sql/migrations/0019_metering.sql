-- The marts as an analyst reads them (with 0019-0024, one per area): every view ordered, so a bare
-- SELECT * comes back in a stable, meaningful order, with the tenant's slug (and, on documents, name)
-- and the deployment's slug beside their ids. Column sets only grow: every column keeps its name.

CREATE OR REPLACE VIEW marts.metered_usage AS
SELECT m.period_start, m.period_end, m.tenant_id, t.slug AS tenant_slug, m.deployment_id, d.slug AS deployment_slug,
       m.metric, m.source, m.quantity, m.late_quantity, m.event_count, m.duplicate_count, m.cutoff_at
FROM revenue.metered_usage m
LEFT JOIN staging.tenants t ON t.tenant_id = m.tenant_id
LEFT JOIN staging.deployments d ON d.deployment_id = m.deployment_id
ORDER BY m.period_start, t.slug, d.slug, m.metric;
