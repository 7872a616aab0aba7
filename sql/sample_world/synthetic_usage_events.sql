-- $n synthetic usage events of month number $month_index (0 = $first_month), over the deployment ids in
-- the list $deployments; each event occurs in the month's first 28 days and is received within 10
-- minutes. About $duplicate_rate of them are client retries of an earlier event: the same idempotency
-- key, deployment, metric and quantity under a new event id, received up to 5 days later (so some land
-- in the next month). From the second month on, a quarter of the retries repeat an event of the
-- previous month instead (duplicates spanning months): half keep its occurred_at (a late retry), half
-- carry a new one in this month (a retry re-stamped by the client). The original is always received
-- first, so it wins. Deterministic: every value is hash(row, seed, month, column).
WITH rows AS (
    SELECT range AS i,
           CASE WHEN hash(range, $seed, $month_index, 1) % 10000 < CAST($duplicate_rate * 10000 AS UBIGINT)
                     AND range > 0
                THEN CAST(hash(range, $seed, $month_index, 3) % range AS BIGINT) END AS retry_of
    FROM range(CAST($n AS BIGINT))
), events AS (
    SELECT i, retry_of IS NOT NULL AS dup, coalesce(retry_of, i) AS src,
           $month_index - CASE WHEN retry_of IS NOT NULL AND $month_index > 0
                                    AND hash(i, $seed, $month_index, 8) % 4 = 0 THEN 1 ELSE 0 END AS key_month,
           hash(i, $seed, $month_index, 9) % 2 = 0 AS restamped
    FROM rows
), timed AS (
    SELECT *, CAST($first_month AS TIMESTAMP) + to_months(CAST(key_month AS INTEGER))
                  + to_seconds(CAST(hash(src, $seed, key_month, 2) % (28 * 86400) AS BIGINT)) AS original_at,
           CAST($first_month AS TIMESTAMP) + to_months(CAST($month_index AS INTEGER))
               + to_seconds(CAST(hash(i, $seed, $month_index, 2) % (28 * 86400) AS BIGINT)) AS restamped_at
    FROM events
)
SELECT
    'evt-' || $month_index || '-' || i AS event_id,
    'key-' || key_month || '-' || src AS idempotency_key,
    $deployments[1 + CAST(hash(src, $seed, key_month, 7) % len($deployments) AS BIGINT)] AS deployment_id,
    CASE WHEN hash(src, $seed, key_month, 4) % 3 = 1 THEN 'build_minutes' ELSE 'api_requests' END AS metric,
    CAST(1 + hash(src, $seed, key_month, 5) % 1000 AS BIGINT) AS quantity,
    CASE WHEN key_month < $month_index AND restamped THEN restamped_at ELSE original_at END AS occurred_at,
    CASE WHEN key_month < $month_index  -- a retry of last month's event: received this month, after it
         THEN greatest(restamped_at, original_at + INTERVAL 1 DAY)
         ELSE original_at + to_seconds(1 + CAST(hash(i, $seed, $month_index, 6)
                                                % (CASE WHEN dup THEN 432000 ELSE 600 END) AS BIGINT)) END AS received_at
FROM timed
