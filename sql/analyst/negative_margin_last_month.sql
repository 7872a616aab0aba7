-- Deployments whose margin was negative in the latest closed month, worst first (USD, exact decimals).
SELECT tenant_slug, deployment_slug, sum(revenue_usd_minor) * 0.01 AS revenue_usd,
       sum(cost_usd_minor) * 0.01 AS cost_usd, sum(margin_usd_minor) * 0.01 AS margin_usd
FROM marts.deployment_margin
WHERE period_start = (SELECT max(period_start) FROM marts.monthly_pnl) AND deployment_id IS NOT NULL
GROUP BY ALL
HAVING sum(margin_usd_minor) < 0
ORDER BY margin_usd, deployment_slug;
