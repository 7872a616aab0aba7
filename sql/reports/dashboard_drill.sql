-- One month's margin as a tree: tenant, deployment (or tenant-level revenue), resource kind; unallocated
-- cost as its own tenant. Sorted so the drill-down reads tenant by tenant, largest margin first.
SELECT coalesce(tenant_slug, 'unallocated cost') AS tenant,
       CASE WHEN deployment_id IS NOT NULL THEN deployment_slug
            WHEN tenant_id IS NOT NULL THEN '(tenant-level)' ELSE 'unallocated' END AS deployment,
       resource_kind, sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor,
       sum(margin_usd_minor) AS margin_usd_minor
FROM marts.deployment_margin
WHERE period_start = $month_start
GROUP BY ALL
ORDER BY 1, 2, 3
