-- One month's cost no deployment owns, by cause, largest first.
SELECT coalesce(unallocated_reason, 'none') AS reason, sum(amount_minor) AS cost_usd_minor, sum(line_count) AS lines
FROM marts.deployment_costs
WHERE period_start = $month_start AND cost_type = 'unallocated'
GROUP BY 1
ORDER BY 2 DESC, 1
