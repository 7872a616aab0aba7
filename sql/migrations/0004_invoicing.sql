-- Tenant invoices and their lines. One invoice per (tenant, period): the original has
-- correction_seq 0; credit notes and supplementary invoices take 1, 2, ... and reference it.
CREATE SCHEMA IF NOT EXISTS revenue;

CREATE TABLE IF NOT EXISTS revenue.tenant_invoices (
    invoice_id VARCHAR PRIMARY KEY,
    invoice_number VARCHAR NOT NULL UNIQUE,
    tenant_id VARCHAR NOT NULL,
    period_start TIMESTAMP NOT NULL,
    period_end TIMESTAMP NOT NULL,
    document_type VARCHAR NOT NULL CHECK (document_type IN ('invoice', 'credit_note', 'supplementary_invoice')),
    correction_seq INTEGER NOT NULL CHECK (correction_seq >= 0),
    corrects_invoice_id VARCHAR,
    currency VARCHAR NOT NULL,
    subtotal_minor BIGINT NOT NULL,
    tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL,
    tax_rate DECIMAL(9, 6) NOT NULL,
    tax_label VARCHAR NOT NULL,
    status VARCHAR NOT NULL CHECK (status IN ('draft', 'issued', 'paid', 'void')),
    content_sha256 VARCHAR NOT NULL,
    computed_at TIMESTAMP NOT NULL,
    issued_at TIMESTAMP,
    UNIQUE (tenant_id, period_start, correction_seq),
    CHECK ((document_type = 'invoice') = (correction_seq = 0)),
    CHECK (total_minor = subtotal_minor + tax_minor)
);

CREATE TABLE IF NOT EXISTS revenue.tenant_invoice_lines (
    invoice_id VARCHAR NOT NULL,
    line_number INTEGER NOT NULL,
    line_id VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL CHECK (kind IN ('plan_base', 'addon', 'overage', 'minimum_commitment', 'credit', 'tax')),
    description VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL,
    deployment_id VARCHAR,
    subscription_id VARCHAR,
    metric VARCHAR,
    add_on_code VARCHAR,
    plan_version_id VARCHAR,
    credit_grant_id VARCHAR,
    quantity DECIMAL(38, 6) NOT NULL,
    unit_amount_minor DECIMAL(38, 12),
    amount_minor BIGINT NOT NULL,
    tax_rate DECIMAL(9, 6),
    service_start TIMESTAMP,
    service_end TIMESTAMP,
    PRIMARY KEY (invoice_id, line_number)
);

-- Append-only: one row per issued document with the hash of its content at issue time.
CREATE TABLE IF NOT EXISTS revenue.invoice_issue_log (
    invoice_id VARCHAR PRIMARY KEY,
    content_sha256 VARCHAR NOT NULL,
    issued_at TIMESTAMP NOT NULL,
    issued_by VARCHAR NOT NULL
);

-- Subscriptions active in a period that were deliberately not invoiced, and why.
CREATE TABLE IF NOT EXISTS revenue.invoice_exclusions (
    period_start TIMESTAMP NOT NULL,
    tenant_id VARCHAR NOT NULL,
    subscription_id VARCHAR NOT NULL,
    reason VARCHAR NOT NULL,
    PRIMARY KEY (period_start, subscription_id)
);

CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE VIEW marts.tenant_invoices AS SELECT * FROM revenue.tenant_invoices;
