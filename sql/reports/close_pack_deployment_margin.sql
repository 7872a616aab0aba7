-- The close pack's Deployment margin by resource kind.
SELECT coalesce(tenant_slug, '') AS tenant,
       CASE WHEN deployment_id IS NOT NULL THEN deployment_slug
            WHEN tenant_id IS NOT NULL THEN '(tenant-level)' ELSE 'unallocated' END AS deployment,
       resource_kind, currency, revenue_usd_minor, cost_usd_minor, margin_usd_minor, margin_pct
FROM marts.deployment_margin
WHERE period_start = $month_start
ORDER BY tenant_slug NULLS LAST, deployment_slug NULLS LAST, resource_kind, currency
