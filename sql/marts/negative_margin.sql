-- Deployments and tenants whose revenue in a month was below their cost, each with its driver: the
-- resource kind that cost it the most. Feeds the WARN check `negative_margin` of deployment_margin.
WITH window_rows AS (
    SELECT * FROM margin.deployment_margin
    WHERE period_start >= $window_start AND period_start < $window_end AND tenant_id IS NOT NULL
), per_deployment AS (
    SELECT period_start, 'deployment' AS level, tenant_slug, deployment_slug, resource_kind,
           sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor
    FROM window_rows WHERE deployment_id IS NOT NULL GROUP BY ALL
), per_tenant AS (
    SELECT period_start, 'tenant' AS level, tenant_slug, NULL AS deployment_slug, resource_kind,
           sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor
    FROM window_rows GROUP BY ALL
), totals AS (
    SELECT strftime(period_start, '%Y-%m') AS month, level, tenant_slug, deployment_slug,
           sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor,
           first(resource_kind ORDER BY cost_usd_minor DESC, resource_kind) AS driver
    FROM (SELECT * FROM per_deployment UNION ALL SELECT * FROM per_tenant)
    GROUP BY ALL
)
SELECT month, level, tenant_slug, deployment_slug, revenue_usd_minor, cost_usd_minor,
       revenue_usd_minor - cost_usd_minor AS margin_usd_minor, driver
FROM totals
WHERE revenue_usd_minor < cost_usd_minor
ORDER BY month, level, margin_usd_minor, tenant_slug, deployment_slug;
