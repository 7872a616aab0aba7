-- The idempotency-key index (migration 0017) brought up to date after an incremental usage snapshot:
-- the rows of the touched keys (sql/source/usage_keys_touched.sql) recomputed from the staged events,
-- the same rule as the full rebuild (sql/source/repeated_usage_keys.sql): first received copy wins,
-- ties by lowest event id; keys carried once are not listed.
DELETE FROM staging.repeated_usage_keys WHERE idempotency_key IN (SELECT idempotency_key FROM touched_usage_keys);

INSERT INTO staging.repeated_usage_keys
SELECT idempotency_key, arg_min(event_id, (received_at, event_id)), count(*)
FROM staging.usage_events SEMI JOIN touched_usage_keys USING (idempotency_key)
GROUP BY idempotency_key HAVING count(*) > 1;

DROP TABLE touched_usage_keys;
