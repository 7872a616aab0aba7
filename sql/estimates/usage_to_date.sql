-- Per deployment, metric and source: the billable usage known at $as_of, and what the estimate rates
-- (revenue.billable_usage after the run-rate). Runs after metering/billable_usage.sql on the same
-- connection and reads its temp tables: `attributed_events` (events billed this month, with the coverage
-- that decides whether they count: never in a trial) and `resource_pieces` (resource lifetimes cut by
-- coverage). A resource piece's hours so far follow the month close's rule (hour k of the resource's life
-- in the month, the partial last hour counted whole), with the piece's end clipped at as_of.
WITH so_far AS (
    SELECT tenant_id, deployment_id, metric, 'events' AS source, sum(quantity) AS quantity
    FROM attributed_events WHERE reason IS NULL
    GROUP BY ALL
    UNION ALL
    SELECT tenant_id, deployment_id, metric, 'resources',
           sum((date_diff('second', s0, least(piece_to, CAST($as_of AS TIMESTAMP))) + 3599) // 3600
               - (date_diff('second', s0, piece_from) + 3599) // 3600)
    FROM resource_pieces WHERE reason IS NULL AND piece_from < $as_of
    GROUP BY ALL
), rated AS (
    SELECT tenant_id, deployment_id, metric, source, sum(quantity) AS quantity
    FROM revenue.billable_usage WHERE billing_period_start = $period_start
    GROUP BY ALL
)
SELECT tenant_id, deployment_id, metric, source, CAST(coalesce(s.quantity, 0) AS BIGINT) AS quantity_to_date,
       CAST(coalesce(r.quantity, 0) AS BIGINT) AS projected_quantity
FROM so_far s FULL JOIN rated r USING (tenant_id, deployment_id, metric, source)
ORDER BY ALL;
