-- Metered usage for every month in [$window_start, $window_end): what each deployment used, for analysts
-- and reconciliation (what invoices bill is revenue.billable_usage, from billable_usage.sql).
-- Events are deduplicated by idempotency key across ALL staged events (first received wins), so a
-- retry that lands in another month is still one event; the snapshot keeps that answer in the index
-- staging.repeated_usage_keys, so this file reads only the events that can affect the window (staged
-- in received order, whole row groups of other months are skipped) and never all of history.
-- Reversed keys, unknown deployments or metrics and negative quantities never reach metered_usage;
-- the last three are kept in usage_rejections instead. Nothing event-wide is materialised: one
-- streaming aggregate, plus one selective scan for the (few) late and rejected events.
CREATE OR REPLACE TEMP TABLE months AS
SELECT range AS period_start, range + INTERVAL 1 MONTH AS period_end,
       range + INTERVAL 1 MONTH + to_hours(CAST($grace_hours AS BIGINT)) AS cutoff_at
FROM range(CAST($window_start AS TIMESTAMP), CAST($window_end AS TIMESTAMP), INTERVAL 1 MONTH);

-- The invoice that bills an event (the one rule for it; billable_usage.sql uses it too): its own
-- month when received before that month's end + grace, else the first month whose end + grace is
-- after its received_at, i.e. the month of (received_at - grace).
CREATE OR REPLACE TEMP MACRO billing_period(usage_period_start, received_at, grace_hours) AS
    greatest(usage_period_start, date_trunc('month', received_at - to_hours(CAST(grace_hours AS BIGINT))));

-- Counted events: first received copies, not reversed, classified on the fly. Those that occurred in
-- [window_start, window_end), and with `late_arrivals` also those that occurred earlier but were received
-- after window_start's cut-off and before window_end's (they are billed in the window, see above).
CREATE OR REPLACE TEMP MACRO window_events(window_start, window_end, grace_hours, late_arrivals) AS TABLE
WITH candidates AS (
    SELECT * FROM staging.usage_events WHERE occurred_at >= window_start AND occurred_at < window_end
    UNION ALL
    SELECT * FROM staging.usage_events
    WHERE late_arrivals AND occurred_at < window_start
      AND received_at >= CAST(window_start AS TIMESTAMP) + to_hours(CAST(grace_hours AS BIGINT))
      AND received_at < CAST(window_end AS TIMESTAMP) + to_hours(CAST(grace_hours AS BIGINT))
), first_copies AS (
    SELECT c.*, coalesce(k.copies - 1, 0) AS duplicates
    FROM candidates c LEFT JOIN staging.repeated_usage_keys k USING (idempotency_key)
    WHERE k.first_event_id IS NULL OR k.first_event_id = c.event_id
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
FROM window_events($window_start, $window_end, $grace_hours, FALSE) WHERE rejection IS NULL
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
SELECT * FROM window_events($window_start, $window_end, $grace_hours, FALSE)
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
