-- The idempotency-key index (migration 0017) rebuilt from the staged events it describes; runs in the
-- usage snapshot's transaction right after staging.usage_events is rewritten. Only keys carried more
-- than once are kept: the first received copy (ties: lowest event id) wins, as metering counts it.
DELETE FROM staging.repeated_usage_keys;

INSERT INTO staging.repeated_usage_keys
SELECT idempotency_key, arg_min(event_id, (received_at, event_id)), count(*)
FROM staging.usage_events GROUP BY idempotency_key HAVING count(*) > 1;
