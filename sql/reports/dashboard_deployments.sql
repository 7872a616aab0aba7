-- One month's margin per bar of the chart: each deployment, each tenant's tenant-level revenue, and
-- unallocated cost; best margin first (the top and bottom lists are its ends).
SELECT CASE WHEN deployment_id IS NOT NULL THEN deployment_slug
            WHEN tenant_id IS NOT NULL THEN tenant_slug || ' (tenant-level)'
            ELSE 'unallocated cost' END AS label,
       coalesce(tenant_slug, '') AS tenant, deployment_id IS NOT NULL AS is_deployment,
       sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor,
       sum(margin_usd_minor) AS margin_usd_minor
FROM marts.deployment_margin
WHERE period_start = $month_start
GROUP BY ALL
ORDER BY margin_usd_minor DESC, label
