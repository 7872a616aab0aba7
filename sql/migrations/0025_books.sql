-- books: what was pushed to the finance target (payables: DigitalOcean invoices; receivables: issued
-- tenant documents). One current row per (target, document) and an append-only log of every attempt's
-- outcome. A document whose payload hashes as recorded is not pushed again; a restated one is.
CREATE SCHEMA IF NOT EXISTS books;

CREATE TABLE books.pushed_documents (
    target VARCHAR NOT NULL, document_kind VARCHAR NOT NULL CHECK (document_kind IN ('payable', 'receivable')),
    document_id VARCHAR NOT NULL, period_start TIMESTAMP NOT NULL, remote_id VARCHAR NOT NULL,
    currency VARCHAR NOT NULL, total_minor BIGINT NOT NULL, tax_minor BIGINT NOT NULL,
    payload_sha256 VARCHAR NOT NULL, pushed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (target, document_kind, document_id));

CREATE TABLE books.push_log (
    target VARCHAR NOT NULL, document_kind VARCHAR NOT NULL, document_id VARCHAR NOT NULL,
    action VARCHAR NOT NULL CHECK (action IN ('created', 'updated', 'skipped')),
    remote_id VARCHAR NOT NULL, payload_sha256 VARCHAR NOT NULL, logged_at TIMESTAMP NOT NULL);

CREATE OR REPLACE VIEW marts.books_pushes AS
SELECT p.target, p.document_kind, p.document_id, p.period_start, p.remote_id, p.currency, p.total_minor,
       p.tax_minor, p.payload_sha256, p.pushed_at
FROM books.pushed_documents p
ORDER BY p.period_start, p.target, p.document_kind, p.document_id;
