-- Usage events an operator may reverse: one tenant's events of one month (occurred_at, UTC half-open),
-- optionally of one metric or deployment (slug or id), newest first, with any reversal already recorded.
SELECT e.event_id, d.slug AS deployment, e.metric, e.quantity, e.occurred_at, e.idempotency_key,
       r.reversal_id IS NOT NULL AS reversed
FROM staging.usage_events e
JOIN staging.deployments d USING (deployment_id)
LEFT JOIN revenue.usage_event_reversals r ON r.idempotency_key = e.idempotency_key
WHERE d.tenant_id = $tenant_id
  AND e.occurred_at >= $month_start AND e.occurred_at < $month_end
  AND ($metric IS NULL OR e.metric = $metric)
  AND ($deployment IS NULL OR d.slug = $deployment OR d.deployment_id = lower($deployment))
ORDER BY e.occurred_at DESC, e.event_id
LIMIT $limit
