-- Idempotency keys of the re-read usage events ($since onwards, in typed_usage_events) that events
-- staged before the cut-off also carry with other content (deployment, metric or quantity, or a value
-- that could not be typed). A full read refuses every copy of such a key, including the staged ones,
-- so the incremental snapshot gives way to a full read when this is not zero.
SELECT count(DISTINCT t.idempotency_key)
FROM typed_usage_events t
JOIN staging.usage_events s ON s.idempotency_key = t.idempotency_key AND s.received_at < $since
WHERE (t.deployment_id, t.metric, t.quantity) IS DISTINCT FROM (s.deployment_id, s.metric, s.quantity)
