-- Scratch tables for one month's DigitalOcean documents while they are checked (billing_assets/ingest/
-- cost_lines.py): the CSV's lines and the JSON items, parsed a batch at a time. Temporary: gone with
-- the connection, never seen by another reader.
CREATE OR REPLACE TEMP TABLE month_csv_lines (
    line_number INTEGER NOT NULL, product VARCHAR NOT NULL, group_description VARCHAR NOT NULL,
    description VARCHAR NOT NULL, hours INTEGER, start_at TIMESTAMP NOT NULL, end_at TIMESTAMP NOT NULL,
    amount_minor BIGINT NOT NULL, project_name VARCHAR NOT NULL, category VARCHAR NOT NULL, is_tax BOOLEAN NOT NULL,
    resource_id VARCHAR, resource_uuid VARCHAR, source VARCHAR NOT NULL);
CREATE OR REPLACE TEMP TABLE month_item_lines AS SELECT * FROM month_csv_lines LIMIT 0;
