-- Revenue lost to churn: tenants that had revenue in a month and none in the next, with what they
-- brought the month before (USD). A tenant that comes back appears again when it leaves again.
WITH monthly AS (
    SELECT tenant_id, tenant_slug, period_start, sum(revenue_usd_minor) AS revenue_usd_minor
    FROM marts.tenant_margin WHERE tenant_id IS NOT NULL GROUP BY ALL),
months AS (SELECT DISTINCT period_start FROM marts.monthly_pnl)
SELECT strftime(m.period_start, '%Y-%m') AS month, prev.tenant_slug, prev.revenue_usd_minor * 0.01 AS lost_revenue_usd
FROM months m
JOIN monthly prev ON prev.period_start = m.period_start - INTERVAL 1 MONTH AND prev.revenue_usd_minor > 0
LEFT JOIN monthly cur ON cur.tenant_id = prev.tenant_id AND cur.period_start = m.period_start
WHERE coalesce(cur.revenue_usd_minor, 0) <= 0
ORDER BY month, lost_revenue_usd DESC, prev.tenant_slug;
