-- The close pack's Summary P&L: the month's row of marts.monthly_pnl (USD cents).
SELECT period_start, revenue_usd_minor, credits_usd_minor, cost_of_goods_usd_minor, gross_margin_usd_minor,
       gross_margin_pct, tax_collected_usd_minor, provider_tax_paid_usd_minor, unallocated_cost_usd_minor,
       draft_revenue_usd_minor
FROM marts.monthly_pnl
WHERE period_start = $month_start
