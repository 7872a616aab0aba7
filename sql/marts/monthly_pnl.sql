DELETE FROM margin.monthly_pnl WHERE period_start >= $window_start AND period_start < $window_end;

INSERT INTO margin.monthly_pnl
WITH months AS (
    SELECT range AS period_start FROM range(CAST($window_start AS TIMESTAMP), CAST($window_end AS TIMESTAMP),
                                            INTERVAL 1 MONTH)
), rev AS (
    SELECT period_start,
           sum(amount_usd_minor) FILTER (WHERE kind <> 'tax' AND status IN ('issued', 'paid')) AS revenue,
           sum(amount_usd_minor) FILTER (WHERE kind = 'credit' AND status IN ('issued', 'paid')) AS credits,
           sum(amount_usd_minor) FILTER (WHERE kind = 'tax' AND status IN ('issued', 'paid')) AS tax,
           sum(amount_usd_minor) FILTER (WHERE kind <> 'tax' AND status = 'draft') AS draft
    FROM revenue_lines GROUP BY 1
), cost AS (
    SELECT period_start, sum(amount_minor) AS cogs,
           sum(amount_minor) FILTER (WHERE resource_kind = 'tax') AS provider_tax,
           sum(amount_minor) FILTER (WHERE cost_type = 'unallocated') AS unallocated
    FROM cogs.deployment_costs WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
)
SELECT m.period_start, coalesce(r.revenue, 0), coalesce(r.credits, 0), coalesce(c.cogs, 0),
       coalesce(r.revenue, 0) - coalesce(c.cogs, 0),
       CASE WHEN coalesce(r.revenue, 0) <> 0
            THEN round(100.0 * (coalesce(r.revenue, 0) - coalesce(c.cogs, 0)) / r.revenue, 2) END,
       coalesce(r.tax, 0), coalesce(c.provider_tax, 0), coalesce(c.unallocated, 0), coalesce(r.draft, 0)
FROM months m LEFT JOIN rev r USING (period_start) LEFT JOIN cost c USING (period_start)
WHERE r.period_start IS NOT NULL OR c.period_start IS NOT NULL;
