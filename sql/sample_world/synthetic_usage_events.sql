-- $n synthetic usage events in the 28 days from $month_start, over the deployment ids in the list
-- $deployments; about $duplicate_rate of them are client retries of an earlier event: the same
-- idempotency key, deployment, metric, quantity and occurred_at under a new event id, received up to
-- 5 days later (so some land in the next month). Deterministic: every value is hash(row, seed, column).
WITH rows AS (
    SELECT range AS i,
           CASE WHEN hash(range, $seed, 1) % 10000 < CAST($duplicate_rate * 10000 AS UBIGINT) AND range > 0
                THEN CAST(hash(range, $seed, 3) % range AS BIGINT) END AS retry_of
    FROM range(CAST($n AS BIGINT))
), events AS (
    SELECT i, retry_of IS NOT NULL AS dup, coalesce(retry_of, i) AS src FROM rows
)
SELECT
    'evt-' || i AS event_id,
    'key-' || src AS idempotency_key,
    $deployments[1 + CAST(hash(src, $seed, 7) % len($deployments) AS BIGINT)] AS deployment_id,
    CASE WHEN hash(src, $seed, 4) % 3 = 1 THEN 'build_minutes' ELSE 'api_requests' END AS metric,
    CAST(1 + hash(src, $seed, 5) % 1000 AS BIGINT) AS quantity,
    CAST($month_start AS TIMESTAMP) + to_seconds(CAST(hash(src, $seed, 2) % (28 * 86400) AS BIGINT)) AS occurred_at,
    CAST($month_start AS TIMESTAMP) + to_seconds(CAST(hash(src, $seed, 2) % (28 * 86400) AS BIGINT) + 1
        + CAST(hash(i, $seed, 6) % (CASE WHEN dup THEN 432000 ELSE 600 END) AS BIGINT)) AS received_at
FROM events
