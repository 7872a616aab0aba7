-- ingest: DigitalOcean documents kept verbatim, and what was parsed from them.
CREATE SCHEMA IF NOT EXISTS ingest;

-- Every fetched document, byte for byte. A document is stored once per distinct content: a
-- re-fetch of identical bytes keeps the first row, a restated document adds a new version.
CREATE TABLE IF NOT EXISTS ingest.raw_documents (
    kind VARCHAR NOT NULL, doc_key VARCHAR NOT NULL, page INTEGER NOT NULL, sha256 VARCHAR NOT NULL,
    period VARCHAR, source VARCHAR NOT NULL, uri VARCHAR NOT NULL, content_type VARCHAR,
    size_bytes BIGINT NOT NULL, fetched_at TIMESTAMP NOT NULL, content BLOB NOT NULL,
    PRIMARY KEY (kind, doc_key, page, sha256));

CREATE TABLE IF NOT EXISTS ingest.do_balance_snapshots (
    fetched_at TIMESTAMP NOT NULL, generated_at TIMESTAMP NOT NULL, month_to_date_balance_minor BIGINT NOT NULL,
    account_balance_minor BIGINT NOT NULL, month_to_date_usage_minor BIGINT NOT NULL, currency VARCHAR NOT NULL,
    raw_sha256 VARCHAR NOT NULL);

CREATE TABLE IF NOT EXISTS ingest.do_billing_history (
    entry_key VARCHAR PRIMARY KEY, entry_type VARCHAR NOT NULL, description VARCHAR NOT NULL,
    amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL, invoice_id VARCHAR, invoice_uuid VARCHAR,
    occurred_at TIMESTAMP NOT NULL, first_seen_at TIMESTAMP NOT NULL);

-- One row per month: whether DigitalOcean has invoiced it, and the documents it came from.
CREATE TABLE IF NOT EXISTS ingest.do_invoices (
    period_start TIMESTAMP PRIMARY KEY, status VARCHAR NOT NULL CHECK (status IN ('issued', 'not_issued_yet', 'no_usage')),
    invoice_uuid VARCHAR, invoice_id VARCHAR, amount_minor BIGINT, summary_amount_minor BIGINT,
    items_total_minor BIGINT, item_count INTEGER, source VARCHAR NOT NULL, items_sha256 VARCHAR,
    summary_sha256 VARCHAR, csv_sha256 VARCHAR, fetched_at TIMESTAMP);

CREATE TABLE IF NOT EXISTS ingest.do_cost_lines (
    period_start TIMESTAMP NOT NULL, invoice_uuid VARCHAR NOT NULL, invoice_id VARCHAR, line_number INTEGER NOT NULL,
    product VARCHAR NOT NULL, group_description VARCHAR NOT NULL, description VARCHAR NOT NULL, hours INTEGER,
    start_at TIMESTAMP NOT NULL, end_at TIMESTAMP NOT NULL, amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL,
    project_name VARCHAR NOT NULL, category VARCHAR NOT NULL, is_tax BOOLEAN NOT NULL, resource_id VARCHAR,
    resource_uuid VARCHAR, source VARCHAR NOT NULL, raw_sha256 VARCHAR NOT NULL,
    PRIMARY KEY (invoice_uuid, line_number));

-- Inventory with history: a resource stays here (last_seen_at frozen) after DigitalOcean forgets it.
CREATE TABLE IF NOT EXISTS ingest.do_resources (
    resource_key VARCHAR PRIMARY KEY, kind VARCHAR NOT NULL, provider_resource_id VARCHAR, provider_uuid VARCHAR,
    name VARCHAR, size_slug VARCHAR, region VARCHAR, created_at TIMESTAMP, cluster_uuid VARCHAR, tags VARCHAR,
    first_seen_at TIMESTAMP NOT NULL, last_seen_at TIMESTAMP NOT NULL);
