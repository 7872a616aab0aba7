-- One month's revenue, cost and margin per resource kind (`platform`: revenue tied to no kind).
SELECT resource_kind, sum(revenue_usd_minor) AS revenue_usd_minor, sum(cost_usd_minor) AS cost_usd_minor,
       sum(margin_usd_minor) AS margin_usd_minor
FROM marts.deployment_margin
WHERE period_start = $month_start
GROUP BY 1
ORDER BY sum(margin_usd_minor) DESC, 1
