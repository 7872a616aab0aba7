-- What Stripe's amount_due is made of, so payment drift can tell a credit note (pre-payment credit
-- notes lower amount_due) and the tenant's applied Stripe balance from a real difference, and
-- Stripe's own total can be compared with ours. The table is replaced whole by every pull, so it
-- is recreated rather than altered (DuckDB cannot add NOT NULL columns).
DROP TABLE revenue.stripe_invoice_status;
CREATE TABLE revenue.stripe_invoice_status (
    stripe_invoice_id VARCHAR PRIMARY KEY, invoice_id VARCHAR NOT NULL, status VARCHAR NOT NULL,
    total_minor BIGINT NOT NULL, amount_due_minor BIGINT NOT NULL, amount_paid_minor BIGINT NOT NULL,
    amount_remaining_minor BIGINT NOT NULL, pre_payment_credit_notes_minor BIGINT NOT NULL,
    post_payment_credit_notes_minor BIGINT NOT NULL, customer_credit_applied_minor BIGINT NOT NULL,
    checked_at TIMESTAMP NOT NULL);
