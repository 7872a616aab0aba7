-- One month's revenue vs cost bars: one per deployment, one per tenant for its tenant-level revenue
-- (credits, no deployment), and one for cost no deployment owns. Best margin first.
SELECT CASE WHEN deployment_id IS NOT NULL THEN deployment_slug
            WHEN tenant_id IS NOT NULL THEN tenant_slug || ' (tenant-level)'
            ELSE 'unallocated cost' END AS label,
       sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor
FROM margin.deployment_margin
WHERE period_start = $month_start
GROUP BY 1
ORDER BY sum(margin_usd_minor) DESC, 1;
