-- The idempotency-key index (migration 0017): the rows of the touched keys recomputed from the staged
-- events. The touched keys are every repeated key after a full snapshot (sql/source/repeated_usage_keys.sql),
-- or those the re-read and replaced events carry after an incremental one (sql/source/usage_keys_touched.sql).
-- Only keys carried more than once are listed: the first received copy (ties: lowest event id) wins, as
-- metering counts it.
DELETE FROM staging.repeated_usage_keys WHERE idempotency_key IN (SELECT idempotency_key FROM touched_usage_keys);

INSERT INTO staging.repeated_usage_keys
SELECT idempotency_key, arg_min(event_id, (received_at, event_id)), count(*)
FROM staging.usage_events SEMI JOIN touched_usage_keys USING (idempotency_key)
GROUP BY idempotency_key HAVING count(*) > 1;

DROP TABLE touched_usage_keys;
