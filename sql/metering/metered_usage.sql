-- Metered usage for every month in [$window_start, $window_end): what each deployment used, for analysts
-- and reconciliation (what invoices bill is revenue.billable_usage, from billable_usage.sql).
-- Events are deduplicated by idempotency key across ALL staged events (first received wins),
-- so a retry that lands in another month is still one event. Reversed keys, unknown deployments
-- or metrics and negative quantities never reach metered_usage; the last three are kept in
-- usage_rejections instead. Nothing event-wide is materialised: one streaming aggregate, plus one
-- selective scan for the (few) late and rejected events.
CREATE OR REPLACE TEMP TABLE months AS
SELECT range AS period_start, range + INTERVAL 1 MONTH AS period_end,
       range + INTERVAL 1 MONTH + to_hours(CAST($grace_hours AS BIGINT)) AS cutoff_at
FROM range(CAST($window_start AS TIMESTAMP), CAST($window_end AS TIMESTAMP), INTERVAL 1 MONTH);

-- Only keys that occur more than once need a window function; their winners are a small table.
CREATE OR REPLACE TEMP TABLE repeated_keys AS
SELECT idempotency_key, count(*) - 1 AS duplicates FROM staging.usage_events GROUP BY 1 HAVING count(*) > 1;

CREATE OR REPLACE TEMP TABLE repeated_winners AS
SELECT e.event_id, r.duplicates
FROM staging.usage_events e JOIN repeated_keys r USING (idempotency_key)
QUALIFY row_number() OVER (PARTITION BY e.idempotency_key ORDER BY e.received_at, e.event_id) = 1;

-- The window's counted events: first received copies, not reversed, classified on the fly.
-- The invoice that bills an event (the one rule for it; billable_usage.sql uses it too): its own
-- month when received before that month's end + grace, else the first month whose end + grace is
-- after its received_at, i.e. the month of (received_at - grace).
CREATE OR REPLACE TEMP MACRO billing_period(usage_period_start, received_at, grace_hours) AS
    greatest(usage_period_start, date_trunc('month', received_at - to_hours(CAST(grace_hours AS BIGINT))));

CREATE OR REPLACE TEMP MACRO window_events(window_start, window_end, grace_hours) AS TABLE
WITH first_copies AS (
    SELECT e.*, 0 AS duplicates FROM staging.usage_events e ANTI JOIN repeated_keys r USING (idempotency_key)
    WHERE e.occurred_at >= window_start AND e.occurred_at < window_end
    UNION ALL
    SELECT e.*, w.duplicates FROM staging.usage_events e JOIN repeated_winners w USING (event_id)
    WHERE e.occurred_at >= window_start AND e.occurred_at < window_end
), known_metrics AS (SELECT DISTINCT metric, TRUE AS known FROM staging.plan_version_charges)
SELECT c.*, date_trunc('month', c.occurred_at) AS period_start,
       date_trunc('month', c.occurred_at) + INTERVAL 1 MONTH + to_hours(CAST(grace_hours AS BIGINT)) AS cutoff_at,
       d.tenant_id,
       CASE WHEN d.deployment_id IS NULL THEN 'unknown deployment' WHEN k.known IS NULL THEN 'unknown metric'
            WHEN c.quantity < 0 THEN 'negative quantity' END AS rejection
FROM first_copies c
ANTI JOIN revenue.usage_event_reversals v ON v.idempotency_key = c.idempotency_key
LEFT JOIN staging.deployments d ON d.deployment_id = c.deployment_id
LEFT JOIN known_metrics k ON k.metric = c.metric;

DELETE FROM revenue.metered_usage WHERE period_start >= $window_start AND period_start < $window_end;

INSERT INTO revenue.metered_usage
SELECT period_start, period_start + INTERVAL 1 MONTH, tenant_id, deployment_id, metric, 'events',
       coalesce(sum(quantity) FILTER (WHERE received_at < cutoff_at), 0),
       coalesce(sum(quantity) FILTER (WHERE received_at >= cutoff_at), 0),
       count(*), sum(duplicates), any_value(cutoff_at)
FROM window_events($window_start, $window_end, $grace_hours) WHERE rejection IS NULL
GROUP BY period_start, tenant_id, deployment_id, metric;

-- Resource-hours: each resource's lifetime clipped to the half-open month; a partial hour is
-- billed as a whole hour per resource per month (DigitalOcean's own rule), so a resource alive
-- across a month boundary is split exactly at the boundary and each side rounds up on its own.
INSERT INTO revenue.metered_usage
SELECT m.period_start, m.period_end, d.tenant_id, r.deployment_id, r.kind || '_hours', 'resources',
       sum((date_diff('second', greatest(r.created_at, m.period_start),
                      least(coalesce(r.deleted_at, m.period_end), m.period_end)) + 3599) // 3600),
       0, count(*), 0, any_value(m.cutoff_at)
FROM staging.cloud_resources r
JOIN months m ON r.created_at < m.period_end AND coalesce(r.deleted_at, m.period_end) > m.period_start
JOIN staging.deployments d USING (deployment_id)
GROUP BY m.period_start, m.period_end, d.tenant_id, r.deployment_id, r.kind;

-- Late and rejected events are few: one scan collects both.
CREATE OR REPLACE TEMP TABLE exceptional_events AS
SELECT * FROM window_events($window_start, $window_end, $grace_hours)
WHERE rejection IS NOT NULL OR received_at >= cutoff_at;

DELETE FROM revenue.late_usage WHERE period_start >= $window_start AND period_start < $window_end;

INSERT INTO revenue.late_usage
SELECT period_start, event_id, idempotency_key, tenant_id, deployment_id, metric, quantity, occurred_at,
       received_at, cutoff_at,
       billing_period(period_start, received_at, $grace_hours)
FROM exceptional_events WHERE rejection IS NULL AND received_at >= cutoff_at;

DELETE FROM revenue.usage_rejections WHERE period_start >= $window_start AND period_start < $window_end;

INSERT INTO revenue.usage_rejections
SELECT period_start, event_id, idempotency_key, deployment_id, metric, quantity, occurred_at, received_at,
       rejection
FROM exceptional_events WHERE rejection IS NOT NULL;
