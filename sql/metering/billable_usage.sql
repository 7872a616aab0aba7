-- Which subscription, plan phase and invoice every unit of usage belongs to, for the invoices of the
-- billing periods in [$window_start, $window_end). Runs right after metered_usage.sql on the same
-- connection (it reuses that file's temp macros `window_events` and `billing_period` and temp table `months`).
--
-- The rules (README "How invoices are computed"):
--  * a deployment's timeline is cut into coverage intervals: billable ones (a subscription's window
--    after its trial and before its cancellation, on one plan phase) and unbilled ones with a reason
--    (trial, before_start, after_cancel, no_subscription); where intervals overlap (two subscriptions
--    of one deployment at once) the billable one wins over an unbilled one, then the latest started,
--    then the lowest subscription id, and a gap between a subscription's plan phases (or after a last
--    phase that ends) is an unbilled interval of its own (no_plan_phase), so `coverage` holds each
--    instant once; usage counts for the
--    interval that holds its occurred_at, so it is billed to one subscription at most, never in a
--    trial, and usage billed to nobody is listed with its reason;
--  * an event is on time for its period when received_at < period end + grace; a later one is billed
--    on the invoice of the first period whose end + grace is after its received_at, i.e.
--    billing period = greatest(usage period, month of (received_at - grace));
--  * resource-hours: hour k of a resource's life in the month (partial last hour rounded up, as
--    DigitalOcean bills) belongs to the interval that holds the hour's start.
CREATE OR REPLACE TEMP TABLE coverage AS
WITH subs AS (
    SELECT s.*, lead(s.started_at) OVER (PARTITION BY s.deployment_id ORDER BY s.started_at, s.subscription_id)
               AS next_start,
           min(s.started_at) OVER (PARTITION BY s.deployment_id) AS first_start
    FROM staging.subscriptions s
), intervals AS (
    SELECT s.deployment_id, s.subscription_id, p.plan_version_id, p.effective_from AS phase_start,
           greatest(s.started_at, coalesce(s.trial_ends_at, s.started_at), p.effective_from) AS covered_from,
           least(coalesce(s.canceled_at, TIMESTAMP '9999-12-31'), coalesce(p.effective_to, TIMESTAMP '9999-12-31'))
               AS covered_to,
           CAST(NULL AS VARCHAR) AS reason
    FROM subs s JOIN staging.subscription_phases p USING (subscription_id)
    UNION ALL
    SELECT deployment_id, subscription_id, NULL, NULL, started_at,
           least(trial_ends_at, coalesce(canceled_at, TIMESTAMP '9999-12-31')), 'trial'
    FROM subs WHERE trial_ends_at > started_at
    UNION ALL
    SELECT DISTINCT deployment_id, NULL, NULL, NULL, TIMESTAMP '0001-01-01', first_start, 'before_start' FROM subs
    UNION ALL
    SELECT deployment_id, subscription_id, NULL, NULL, canceled_at, coalesce(next_start, TIMESTAMP '9999-12-31'),
           'after_cancel'
    FROM subs WHERE canceled_at < coalesce(next_start, TIMESTAMP '9999-12-31')
    UNION ALL
    SELECT d.deployment_id, NULL, NULL, NULL, TIMESTAMP '0001-01-01', TIMESTAMP '9999-12-31', 'no_subscription'
    FROM staging.deployments d ANTI JOIN staging.subscriptions s USING (deployment_id)
), candidates AS (
    SELECT * FROM intervals WHERE covered_from < covered_to
), segments AS (  -- a deployment's timeline cut at every interval's ends: each piece lies in the same intervals
    SELECT deployment_id, boundary AS segment_from,
           lead(boundary) OVER (PARTITION BY deployment_id ORDER BY boundary) AS segment_to
    FROM (SELECT deployment_id, covered_from AS boundary FROM candidates
          UNION SELECT deployment_id, covered_to FROM candidates
          UNION SELECT deployment_id, TIMESTAMP '9999-12-31' FROM candidates)  -- after a last phase that ends
), winners AS (   -- the interval that holds each piece; none (a gap between plan phases): no_plan_phase
    SELECT g.deployment_id, c.subscription_id, c.plan_version_id, c.phase_start,
           CASE WHEN c.deployment_id IS NULL THEN 'no_plan_phase' ELSE c.reason END AS reason, g.segment_from,
           g.segment_to
    FROM segments g LEFT JOIN candidates c ON c.deployment_id = g.deployment_id AND c.covered_from <= g.segment_from
                                          AND c.covered_to >= g.segment_to
    WHERE g.segment_to IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY g.deployment_id, g.segment_from
                               ORDER BY c.reason IS NOT NULL, c.covered_from DESC, c.subscription_id) = 1
), islands AS (   -- adjacent pieces of the same interval joined again (without overlaps: the intervals as they were)
    SELECT *, sum(starts) OVER (PARTITION BY deployment_id ORDER BY segment_from) AS island
    FROM (SELECT *, CASE WHEN lag(segment_to) OVER w = segment_from
                          AND (lag(subscription_id) OVER w, lag(plan_version_id) OVER w, lag(phase_start) OVER w,
                               lag(reason) OVER w) IS NOT DISTINCT FROM (subscription_id, plan_version_id, phase_start,
                                                                          reason)
                         THEN 0 ELSE 1 END AS starts
          FROM winners WINDOW w AS (PARTITION BY deployment_id ORDER BY segment_from))
)
SELECT deployment_id, subscription_id, plan_version_id, phase_start, min(segment_from) AS covered_from,
       max(segment_to) AS covered_to, reason
FROM islands GROUP BY deployment_id, island, subscription_id, plan_version_id, phase_start, reason;

-- Events billed by the window's invoices: on time in the window, or late from any earlier period.
CREATE OR REPLACE TEMP TABLE billed_events AS
SELECT * FROM (
    SELECT e.*, billing_period(e.period_start, e.received_at, $grace_hours) AS billing_period_start
    FROM window_events($window_start, $window_end, $grace_hours, TRUE) e
    WHERE e.rejection IS NULL
      AND e.received_at < CAST($window_end AS TIMESTAMP) + to_hours(CAST($grace_hours AS BIGINT))
)
WHERE billing_period_start >= $window_start AND billing_period_start < $window_end;

CREATE OR REPLACE TEMP TABLE attributed_events AS
SELECT e.billing_period_start, e.period_start AS usage_period_start, e.tenant_id, e.deployment_id, e.metric,
       e.event_id, e.quantity, e.occurred_at, c.subscription_id, c.plan_version_id, c.phase_start,
       CASE WHEN c.covered_from IS NULL THEN 'no_plan_phase' ELSE c.reason END AS reason
FROM billed_events e
LEFT JOIN coverage c ON c.deployment_id = e.deployment_id AND e.occurred_at >= c.covered_from
                    AND e.occurred_at < c.covered_to;  -- one interval at most: coverage holds each instant once

-- Resource-hours of the window's months, cut by coverage interval (resources are never late).
CREATE OR REPLACE TEMP TABLE resource_pieces AS
WITH lives AS (
    SELECT m.period_start, r.resource_id, r.deployment_id, d.tenant_id, r.kind || '_hours' AS metric,
           greatest(r.created_at, m.period_start) AS s0,
           least(coalesce(r.deleted_at, m.period_end), m.period_end) AS e0
    FROM staging.cloud_resources r
    JOIN months m ON r.created_at < m.period_end AND coalesce(r.deleted_at, m.period_end) > m.period_start
    JOIN staging.deployments d USING (deployment_id)
), pieces AS (
    SELECT l.*, c.subscription_id, c.plan_version_id, c.phase_start, c.reason,
           greatest(c.covered_from, l.s0) AS piece_from, least(c.covered_to, l.e0) AS piece_to
    FROM lives l JOIN coverage c ON c.deployment_id = l.deployment_id AND c.covered_from < l.e0
                                AND c.covered_to > l.s0
)
SELECT *, (date_diff('second', s0, piece_to) + 3599) // 3600 - (date_diff('second', s0, piece_from) + 3599) // 3600
              AS hours
FROM pieces;

DELETE FROM revenue.billable_usage WHERE billing_period_start >= $window_start AND billing_period_start < $window_end;

INSERT INTO revenue.billable_usage
SELECT billing_period_start, usage_period_start, tenant_id, deployment_id, subscription_id, plan_version_id,
       phase_start, metric, 'events', sum(quantity), count(*)
FROM attributed_events WHERE reason IS NULL
GROUP BY ALL;

INSERT INTO revenue.billable_usage
SELECT period_start, period_start, tenant_id, deployment_id, subscription_id, plan_version_id, phase_start, metric,
       'resources', sum(hours), count(DISTINCT resource_id)
FROM resource_pieces WHERE reason IS NULL AND hours > 0
GROUP BY ALL;

DELETE FROM revenue.unbilled_usage WHERE billing_period_start >= $window_start AND billing_period_start < $window_end;

INSERT INTO revenue.unbilled_usage
SELECT billing_period_start, usage_period_start, tenant_id, deployment_id, metric, 'events', event_id, NULL,
       subscription_id, reason, quantity, occurred_at, occurred_at
FROM attributed_events WHERE reason IS NOT NULL;

INSERT INTO revenue.unbilled_usage
SELECT period_start, period_start, tenant_id, deployment_id, metric, 'resources', NULL, resource_id, subscription_id,
       reason, hours, piece_from, piece_to
FROM resource_pieces WHERE reason IS NOT NULL AND hours > 0;
