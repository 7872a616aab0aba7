-- Each tenant's margin in the latest month against the month before: the change in USD and in
-- percentage points, largest fall first.
WITH monthly AS (
    SELECT tenant_slug, period_start, sum(margin_usd_minor) AS margin_minor, sum(revenue_usd_minor) AS revenue_minor
    FROM marts.tenant_margin WHERE tenant_slug IS NOT NULL GROUP BY ALL),
latest AS (SELECT max(period_start) AS period_start FROM marts.monthly_pnl)
SELECT cur.tenant_slug, strftime(cur.period_start, '%Y-%m') AS month, cur.margin_minor * 0.01 AS margin_usd,
       prev.margin_minor * 0.01 AS previous_margin_usd, (cur.margin_minor - prev.margin_minor) * 0.01 AS change_usd,
       CASE WHEN cur.revenue_minor <> 0 AND prev.revenue_minor <> 0
            THEN round(100.0 * cur.margin_minor / cur.revenue_minor - 100.0 * prev.margin_minor / prev.revenue_minor, 2)
       END AS change_pct_points
FROM monthly cur
JOIN latest USING (period_start)
LEFT JOIN monthly prev ON prev.tenant_slug = cur.tenant_slug AND prev.period_start = cur.period_start - INTERVAL 1 MONTH
ORDER BY change_usd NULLS LAST, cur.tenant_slug;
