-- The dashboard's history: every month up to and including $month_start, oldest first.
SELECT strftime(period_start, '%Y-%m') AS month, revenue_usd_minor, cost_of_goods_usd_minor,
       gross_margin_usd_minor, gross_margin_pct, unallocated_cost_usd_minor, credits_usd_minor
FROM marts.monthly_pnl
WHERE period_start <= $month_start
ORDER BY period_start
