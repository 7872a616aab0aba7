-- Source rows refused by the snapshot's validation (billing_assets/source/validation.py): kept out of
-- staging, listed here with what was wrong and the tenant they affect; invoicing leaves those tenants out.
CREATE TABLE staging.source_rejections (
    snapshot_at TIMESTAMP NOT NULL, table_name VARCHAR NOT NULL, primary_key VARCHAR NOT NULL,
    column_name VARCHAR NOT NULL, value VARCHAR, reason VARCHAR NOT NULL, tenant_id VARCHAR);
