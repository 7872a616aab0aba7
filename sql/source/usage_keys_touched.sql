-- Before an incremental usage snapshot replaces the staged events received from $since on: every
-- idempotency key those events or their re-read replacements carry. Only these keys' index rows can
-- change; a key all of whose copies were received before the cut-off keeps its row.
CREATE OR REPLACE TEMP TABLE touched_usage_keys AS
SELECT idempotency_key FROM typed_usage_events WHERE idempotency_key IS NOT NULL
UNION
SELECT idempotency_key FROM staging.usage_events WHERE received_at >= $since;
