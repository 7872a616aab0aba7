-- What a unit of usage costs per resource kind and month: the kind's DigitalOcean cost (direct, all
-- deployments) over its metered resource-hours (`<kind>_hours`), exact to 6 decimal places of a dollar.
WITH cost AS (
    SELECT period_start, resource_kind, sum(amount_minor) AS cost_minor
    FROM marts.deployment_costs WHERE cost_type = 'direct' GROUP BY ALL),
usage AS (
    SELECT period_start, replace(metric, '_hours', '') AS resource_kind, sum(quantity) AS hours
    FROM marts.metered_usage WHERE metric LIKE '%\_hours' ESCAPE '\' GROUP BY ALL)
SELECT strftime(period_start, '%Y-%m') AS month, resource_kind, cost_minor * 0.01 AS cost_usd, hours,
       ((cost_minor * 20000 + hours) // (2 * hours)) * 0.000001 AS usd_per_hour
FROM cost JOIN usage USING (period_start, resource_kind)
WHERE hours > 0
ORDER BY month, resource_kind;
