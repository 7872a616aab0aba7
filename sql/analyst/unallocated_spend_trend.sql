-- Cost no deployment owns, per month and cause, with the change from the month before (USD).
WITH monthly AS (
    SELECT period_start, coalesce(unallocated_reason, 'none') AS reason, sum(amount_minor) AS cost_minor
    FROM marts.deployment_costs WHERE cost_type = 'unallocated' GROUP BY ALL)
SELECT strftime(period_start, '%Y-%m') AS month, reason, cost_minor * 0.01 AS unallocated_usd,
       (cost_minor - lag(cost_minor, 1, 0) OVER (PARTITION BY reason ORDER BY period_start)) * 0.01 AS change_usd
FROM monthly
ORDER BY month, reason;
