-- Deployments of the window's last month ranked by margin ($direction: 'top' or 'bottom').
SELECT tenant_slug AS tenant, deployment_slug AS deployment, sum(revenue_usd_minor) * 0.01 AS revenue_usd,
       sum(cost_usd_minor) * 0.01 AS cost_usd, sum(margin_usd_minor) * 0.01 AS margin_usd
FROM margin.deployment_margin
WHERE period_start = (SELECT max(period_start) FROM margin.deployment_margin
                      WHERE period_start >= $window_start AND period_start < $window_end)
  AND deployment_id IS NOT NULL
GROUP BY ALL
ORDER BY CASE WHEN $direction = 'top' THEN -sum(margin_usd_minor) ELSE sum(margin_usd_minor) END, deployment
