-- Per month, tenant, deployment and resource kind: issued revenue net of tax and credits vs cost.
-- Cost rows without a deployment are kept as `unallocated` rows so the cost column ties to the bill.
DELETE FROM margin.deployment_margin WHERE period_start >= $window_start AND period_start < $window_end;

INSERT INTO margin.deployment_margin
WITH revenue AS (
    SELECT period_start, tenant_id, deployment_id, resource_kind, any_value(currency) AS currency,
           sum(amount_minor) AS revenue_minor, sum(amount_usd_minor) AS revenue_usd_minor
    FROM revenue_lines WHERE kind <> 'tax' AND status IN ('issued', 'paid') GROUP BY ALL
), cost AS (
    SELECT period_start, tenant_id, deployment_id, resource_kind, sum(amount_minor) AS cost_usd_minor
    FROM cogs.deployment_costs WHERE period_start >= $window_start AND period_start < $window_end GROUP BY ALL
), joined AS (
    SELECT coalesce(r.period_start, c.period_start) AS period_start, coalesce(r.tenant_id, c.tenant_id) AS tenant_id,
           coalesce(r.deployment_id, c.deployment_id) AS deployment_id,
           coalesce(r.resource_kind, c.resource_kind) AS resource_kind, r.currency,
           coalesce(r.revenue_minor, 0) AS revenue_minor, coalesce(r.revenue_usd_minor, 0) AS revenue_usd_minor,
           coalesce(c.cost_usd_minor, 0) AS cost_usd_minor
    FROM revenue r FULL OUTER JOIN cost c
      ON r.period_start = c.period_start AND r.tenant_id IS NOT DISTINCT FROM c.tenant_id
     AND r.deployment_id IS NOT DISTINCT FROM c.deployment_id AND r.resource_kind = c.resource_kind
)
SELECT j.period_start, j.tenant_id, t.slug, j.deployment_id, coalesce(d.slug, 'unallocated'), j.resource_kind,
       coalesce(j.currency, t.currency), j.revenue_minor, j.revenue_usd_minor, j.cost_usd_minor,
       j.revenue_usd_minor - j.cost_usd_minor,
       CASE WHEN j.revenue_usd_minor <> 0
            THEN round(100.0 * (j.revenue_usd_minor - j.cost_usd_minor) / j.revenue_usd_minor, 2) END
FROM joined j LEFT JOIN staging.tenants t USING (tenant_id) LEFT JOIN staging.deployments d USING (deployment_id)
ORDER BY ALL;
