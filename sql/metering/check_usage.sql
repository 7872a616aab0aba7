-- Findings of the metered-usage checks for [$window_start, $window_end), one row per finding.
-- finding: unknown_reference | negative_quantity | resources_without_usage | usage_while_inactive
--          | unbilled_usage | resource_hours_unaccounted
SELECT 'unknown_reference' AS finding, period_start, deployment_id, metric,
       reason || ' (event ' || event_id || ', quantity ' || quantity || ')' AS detail
FROM revenue.usage_rejections
WHERE period_start >= $window_start AND period_start < $window_end AND reason IN ('unknown deployment', 'unknown metric')
UNION ALL
SELECT 'negative_quantity', period_start, deployment_id, metric,
       'event ' || event_id || ' quantity ' || quantity
FROM revenue.usage_rejections
WHERE period_start >= $window_start AND period_start < $window_end AND reason = 'negative quantity'
UNION ALL
SELECT 'resources_without_usage', r.period_start, r.deployment_id, NULL,
       'active deployment with ' || r.quantity || ' ' || r.metric || ' but no usage events'
FROM revenue.metered_usage r
JOIN staging.subscriptions s USING (deployment_id)
WHERE r.period_start >= $window_start AND r.period_start < $window_end AND r.source = 'resources'
  AND r.metric = 'droplet_hours'
  AND s.started_at < r.period_end AND coalesce(s.canceled_at, r.period_end) > r.period_start
  AND NOT EXISTS (SELECT 1 FROM revenue.metered_usage u WHERE u.period_start = r.period_start
                  AND u.deployment_id = r.deployment_id AND u.source = 'events')
UNION ALL
SELECT 'usage_while_inactive', u.period_start, u.deployment_id, u.metric,
       'usage of ' || (u.quantity + u.late_quantity) || ' while the deployment was not active ('
       || d.created_at || ' .. ' || coalesce(CAST(d.deleted_at AS VARCHAR), 'now') || ')'
FROM revenue.metered_usage u JOIN staging.deployments d USING (deployment_id)
WHERE u.period_start >= $window_start AND u.period_start < $window_end AND u.source = 'events'
  AND (d.created_at >= u.period_end OR coalesce(d.deleted_at, u.period_end) <= u.period_start)
UNION ALL
SELECT 'unbilled_usage', billing_period_start, deployment_id, metric,
       reason || ': ' || sum(quantity) || ' not billed (' || count(*) || ' ' || source || ' row(s), occurred '
       || min(covered_from) || ' .. ' || max(covered_to) || ')'
FROM revenue.unbilled_usage
WHERE billing_period_start >= $window_start AND billing_period_start < $window_end
GROUP BY billing_period_start, deployment_id, metric, reason, source
UNION ALL
-- Every metered resource-hour is billed once or listed unbilled, never twice, never dropped.
SELECT 'resource_hours_unaccounted', m.period_start, m.deployment_id, m.metric,
       m.quantity || ' hours metered, ' || coalesce(b.hours, 0) || ' billed and ' || coalesce(u.hours, 0)
       || ' listed unbilled'
FROM revenue.metered_usage m
LEFT JOIN (SELECT usage_period_start, deployment_id, metric, sum(quantity) AS hours FROM revenue.billable_usage
           WHERE source = 'resources' GROUP BY ALL) b
       ON b.usage_period_start = m.period_start AND b.deployment_id = m.deployment_id AND b.metric = m.metric
LEFT JOIN (SELECT usage_period_start, deployment_id, metric, sum(quantity) AS hours FROM revenue.unbilled_usage
           WHERE source = 'resources' GROUP BY ALL) u
       ON u.usage_period_start = m.period_start AND u.deployment_id = m.deployment_id AND u.metric = m.metric
WHERE m.period_start >= $window_start AND m.period_start < $window_end AND m.source = 'resources'
  AND m.quantity <> coalesce(b.hours, 0) + coalesce(u.hours, 0)
ORDER BY finding, period_start, deployment_id, metric;
