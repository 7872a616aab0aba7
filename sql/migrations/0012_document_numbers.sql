-- Document numbers are assigned when a document is issued, from a counter per series (README "How
-- invoices are computed": document numbers). A draft has no number yet, so two tenants whose slugs
-- differ only in case can no longer be given the same one.
CREATE TABLE revenue.document_number_series (
    series VARCHAR PRIMARY KEY,          -- e.g. 'INV-202604': document type prefix and service month
    last_number INTEGER NOT NULL CHECK (last_number > 0));

CREATE TABLE revenue.tenant_invoices_v2 (
    invoice_id VARCHAR PRIMARY KEY,
    invoice_number VARCHAR UNIQUE,
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
    CHECK (total_minor = subtotal_minor + tax_minor),
    CHECK ((status = 'draft') = (invoice_number IS NULL))
);
-- Issued documents keep the numbers they were issued with; drafts lose theirs (the next invoicing run
-- recomputes them, and issuing numbers them).
INSERT INTO revenue.tenant_invoices_v2 BY NAME
SELECT * REPLACE (CASE WHEN status = 'draft' THEN NULL ELSE invoice_number END AS invoice_number)
FROM revenue.tenant_invoices;
DROP TABLE revenue.tenant_invoices;
ALTER TABLE revenue.tenant_invoices_v2 RENAME TO tenant_invoices;
