-- Collection read from Stripe's events (issue 20): each event applied once, in created order, from a
-- stored cursor; what the events say lands in its own table with the event id as evidence.
-- stripe_invoice_status keeps its meaning (Stripe's state of each pushed invoice) and now says which
-- event (or full reconcile) it came from.
ALTER TABLE revenue.stripe_invoice_status ADD COLUMN paid_at TIMESTAMP;
ALTER TABLE revenue.stripe_invoice_status ADD COLUMN evidence_event_id VARCHAR;
ALTER TABLE revenue.stripe_invoice_status ADD COLUMN evidence_at TIMESTAMP;

-- Append-only: every event read, with what it changed (or why it changed nothing).
CREATE TABLE revenue.stripe_events (
    event_id VARCHAR PRIMARY KEY, event_type VARCHAR NOT NULL, created_at TIMESTAMP NOT NULL,
    object_id VARCHAR, stripe_invoice_id VARCHAR, outcome VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL);

-- One row: where the next read of /v1/events starts (less an overlap), and how the last sync went.
CREATE TABLE revenue.stripe_sync_cursor (
    cursor_name VARCHAR PRIMARY KEY, last_event_at TIMESTAMP, last_event_id VARCHAR, synced_at TIMESTAMP NOT NULL,
    mode VARCHAR NOT NULL CHECK (mode IN ('events', 'full_reconcile')));

CREATE TABLE revenue.stripe_charges (
    charge_id VARCHAR PRIMARY KEY, stripe_invoice_id VARCHAR NOT NULL, invoice_id VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL, amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL, status VARCHAR NOT NULL,
    amount_refunded_minor BIGINT NOT NULL, failure_message VARCHAR, evidence_at TIMESTAMP NOT NULL,
    evidence_event_id VARCHAR NOT NULL);

-- Append-only: money returned to a tenant, one row per increase of a charge's amount_refunded.
CREATE TABLE revenue.stripe_refunds (
    event_id VARCHAR PRIMARY KEY, charge_id VARCHAR NOT NULL, stripe_invoice_id VARCHAR NOT NULL,
    invoice_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency VARCHAR NOT NULL, refunded_at TIMESTAMP NOT NULL);

CREATE TABLE revenue.stripe_disputes (
    dispute_id VARCHAR PRIMARY KEY, charge_id VARCHAR NOT NULL, stripe_invoice_id VARCHAR NOT NULL,
    invoice_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL,
    status VARCHAR NOT NULL, reason VARCHAR, evidence_event_id VARCHAR NOT NULL, evidence_at TIMESTAMP NOT NULL);

-- Append-only: one row per failed attempt to collect an invoice (invoice.payment_failed).
CREATE TABLE revenue.payment_failures (
    event_id VARCHAR PRIMARY KEY, stripe_invoice_id VARCHAR NOT NULL, invoice_id VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL, amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL, attempt_count INTEGER NOT NULL,
    failed_at TIMESTAMP NOT NULL);

-- The weekly full reconcile: each invoice listed from Stripe against the state the events built.
CREATE TABLE revenue.stripe_reconcile_differences (
    reconciled_at TIMESTAMP NOT NULL, stripe_invoice_id VARCHAR NOT NULL, invoice_id VARCHAR NOT NULL,
    field VARCHAR NOT NULL, from_events VARCHAR, from_listing VARCHAR);
