-- Credits: what each period made available, the ledger derived from it, month-end balances.
CREATE SCHEMA IF NOT EXISTS revenue;

CREATE TABLE IF NOT EXISTS revenue.credit_availability (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL, credit_grant_id VARCHAR NOT NULL,
    kind VARCHAR NOT NULL, deployment_id VARCHAR, available_minor BIGINT NOT NULL, expires_at TIMESTAMP,
    PRIMARY KEY (period_start, credit_grant_id));

CREATE TABLE IF NOT EXISTS revenue.credit_ledger (
    entry_id VARCHAR PRIMARY KEY, period_start TIMESTAMP NOT NULL, credit_grant_id VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    entry_type VARCHAR NOT NULL CHECK (entry_type IN ('granted', 'consumed', 'reversed', 'expired')),
    amount_minor BIGINT NOT NULL, invoice_id VARCHAR, line_id VARCHAR);

CREATE TABLE IF NOT EXISTS revenue.credit_balances (
    period_start TIMESTAMP NOT NULL, credit_grant_id VARCHAR NOT NULL, tenant_id VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    granted_minor BIGINT NOT NULL, consumed_minor BIGINT NOT NULL, expired_minor BIGINT NOT NULL,
    remaining_minor BIGINT NOT NULL, PRIMARY KEY (period_start, credit_grant_id));

CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE VIEW marts.credit_ledger AS SELECT * FROM revenue.credit_ledger;
CREATE OR REPLACE VIEW marts.tenant_credit_balances AS
SELECT period_start, tenant_id, sum(granted_minor) AS granted_minor, sum(consumed_minor) AS consumed_minor,
       sum(expired_minor) AS expired_minor, sum(remaining_minor) AS remaining_minor
FROM revenue.credit_balances GROUP BY ALL;
