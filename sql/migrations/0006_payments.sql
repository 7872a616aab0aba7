-- Money movements: what was pushed to Stripe, what was collected, reversals, and the journal.
CREATE SCHEMA IF NOT EXISTS revenue;

-- One row per issued document pushed to Stripe (an invoice, or a credit note against one).
CREATE TABLE IF NOT EXISTS revenue.stripe_documents (
    invoice_id VARCHAR PRIMARY KEY, tenant_id VARCHAR NOT NULL, stripe_customer_id VARCHAR NOT NULL,
    stripe_object_id VARCHAR NOT NULL UNIQUE, object_type VARCHAR NOT NULL CHECK (object_type IN ('invoice', 'credit_note')),
    amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL, pushed_at TIMESTAMP NOT NULL);

-- Latest status pulled from Stripe per pushed invoice (replaced by each pull).
CREATE TABLE IF NOT EXISTS revenue.stripe_invoice_status (
    stripe_invoice_id VARCHAR PRIMARY KEY, invoice_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
    amount_due_minor BIGINT NOT NULL, amount_paid_minor BIGINT NOT NULL, amount_remaining_minor BIGINT NOT NULL,
    checked_at TIMESTAMP NOT NULL);

-- Append-only: a payment is recorded once, when Stripe first reports the invoice paid.
CREATE TABLE IF NOT EXISTS revenue.payments (
    payment_id VARCHAR PRIMARY KEY, invoice_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL,
    stripe_invoice_id VARCHAR NOT NULL, amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL,
    paid_at TIMESTAMP NOT NULL, recorded_at TIMESTAMP NOT NULL);

-- Append-only, written by the reverse_payment job.
CREATE TABLE IF NOT EXISTS revenue.payment_reversals (
    reversal_id VARCHAR PRIMARY KEY, payment_id VARCHAR NOT NULL UNIQUE, tenant_id VARCHAR NOT NULL,
    original_amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL, reason VARCHAR NOT NULL,
    initiated_by_email VARCHAR NOT NULL, reversed_at TIMESTAMP NOT NULL);

-- Double-entry journal derived from documents, payments and reversals; rebuilt whole each run.
CREATE TABLE IF NOT EXISTS revenue.ledger_entries (
    transaction_id VARCHAR NOT NULL, entry_number INTEGER NOT NULL, posted_at TIMESTAMP NOT NULL,
    tenant_id VARCHAR NOT NULL, account VARCHAR NOT NULL, debit_minor BIGINT NOT NULL, credit_minor BIGINT NOT NULL,
    currency VARCHAR NOT NULL, source_type VARCHAR NOT NULL, source_id VARCHAR NOT NULL, description VARCHAR NOT NULL,
    PRIMARY KEY (transaction_id, entry_number), CHECK (debit_minor >= 0 AND credit_minor >= 0));

CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE VIEW marts.ledger_entries AS SELECT * FROM revenue.ledger_entries;
CREATE OR REPLACE VIEW marts.payments AS SELECT * FROM revenue.payments;
CREATE OR REPLACE VIEW marts.receivables AS
SELECT tenant_id, currency, sum(debit_minor) - sum(credit_minor) AS receivable_minor
FROM revenue.ledger_entries WHERE account = 'accounts_receivable' GROUP BY ALL;
