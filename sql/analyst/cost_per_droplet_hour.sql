-- DigitalOcean droplet cost per metered droplet-hour, per deployment and month. The rate is an exact
-- DECIMAL in dollars to 6 places, rounded half-up in integer arithmetic (dividing a DECIMAL in DuckDB
-- gives a DOUBLE, which is what this query avoids).
SELECT c.deployment_slug AS deployment, strftime(c.period_start, '%Y-%m') AS month,
       sum(c.amount_minor) * 0.01 AS droplet_cost_usd, any_value(u.quantity) AS droplet_hours,
       ((sum(c.amount_minor) * 20000 + any_value(u.quantity)) // (2 * any_value(u.quantity))) * 0.000001
           AS usd_per_droplet_hour
FROM marts.deployment_costs c
JOIN marts.metered_usage u ON u.deployment_id = c.deployment_id AND u.period_start = c.period_start
     AND u.metric = 'droplet_hours'
WHERE c.resource_kind = 'droplet' AND u.quantity > 0
GROUP BY ALL
ORDER BY month DESC, usd_per_droplet_hour DESC, deployment;
