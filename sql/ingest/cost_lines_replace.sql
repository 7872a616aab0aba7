-- Replace one month's cost lines with the staged, checked month_lines (inside the caller's transaction).
DELETE FROM ingest.do_cost_lines WHERE period_start = $period_start;
INSERT INTO ingest.do_cost_lines BY NAME
SELECT $period_start::TIMESTAMP AS period_start, $invoice_uuid AS invoice_uuid, $invoice_id AS invoice_id,
       line_number, product, group_description, description, hours, start_at, end_at, amount_minor,
       'USD' AS currency, project_name, category, is_tax, resource_id, resource_uuid, source,
       $raw_sha256 AS raw_sha256
FROM month_lines;
