-- revenue: metered usage, late usage, rejected events, reversals.
CREATE SCHEMA IF NOT EXISTS revenue;

CREATE TABLE IF NOT EXISTS revenue.metered_usage (
    period_start TIMESTAMP NOT NULL, period_end TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL,
    deployment_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, source VARCHAR NOT NULL,
    quantity BIGINT NOT NULL, late_quantity BIGINT NOT NULL, event_count BIGINT NOT NULL,
    duplicate_count BIGINT NOT NULL, cutoff_at TIMESTAMP NOT NULL,
    PRIMARY KEY (period_start, deployment_id, metric));

CREATE TABLE IF NOT EXISTS revenue.late_usage (
    period_start TIMESTAMP NOT NULL, event_id VARCHAR NOT NULL, idempotency_key VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL, deployment_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, quantity BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL, cutoff_at TIMESTAMP NOT NULL,
    PRIMARY KEY (period_start, event_id));

CREATE TABLE IF NOT EXISTS revenue.usage_rejections (
    period_start TIMESTAMP NOT NULL, event_id VARCHAR NOT NULL, idempotency_key VARCHAR NOT NULL,
    deployment_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, quantity BIGINT NOT NULL,
    occurred_at TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL,
    PRIMARY KEY (period_start, event_id));

-- Append-only: written by the reverse_usage_event job, never by a materialization.
CREATE TABLE IF NOT EXISTS revenue.usage_event_reversals (
    reversal_id VARCHAR PRIMARY KEY, usage_event_id VARCHAR NOT NULL, idempotency_key VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL, deployment_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    original_quantity BIGINT NOT NULL, occurred_at TIMESTAMP NOT NULL, reason VARCHAR NOT NULL,
    initiated_by_email VARCHAR NOT NULL, reversed_at TIMESTAMP NOT NULL);

CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE VIEW marts.metered_usage AS SELECT * FROM revenue.metered_usage;
