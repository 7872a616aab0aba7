-- The persistent idempotency-key index that lets a month's metering read only its own events (README
-- "How invoices are computed": first received copy wins, across all months). One row per key that
-- more than one staged event carries: the copy that wins (first received, then lowest event id) and
-- how many copies there are. Rewritten with staging.usage_events by every usage snapshot, in the same
-- transaction, so the two always describe the same events; keys carried once are not listed.
CREATE TABLE staging.repeated_usage_keys (
    idempotency_key VARCHAR NOT NULL, first_event_id VARCHAR NOT NULL, copies BIGINT NOT NULL CHECK (copies > 1));

INSERT INTO staging.repeated_usage_keys
SELECT idempotency_key, arg_min(event_id, (received_at, event_id)), count(*)
FROM staging.usage_events GROUP BY idempotency_key HAVING count(*) > 1;
