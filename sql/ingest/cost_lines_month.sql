-- The month's cost lines: the CSV's lines, each carrying the resource ids of the JSON item with the
-- same product, group, description, start and amount (repeated keys pair up in line order); the JSON
-- items themselves when no CSV was kept. A view: a million-line month is not copied once more.
CREATE OR REPLACE TEMP VIEW month_lines AS
WITH csv AS (
    SELECT * EXCLUDE (resource_id, resource_uuid), row_number() OVER (
        PARTITION BY product, group_description, description, start_at, amount_minor ORDER BY line_number) AS pair
    FROM month_csv_lines),
items AS (
    SELECT product, group_description, description, start_at, amount_minor, resource_id, resource_uuid,
           row_number() OVER (PARTITION BY product, group_description, description, start_at, amount_minor
                              ORDER BY line_number) AS pair
    FROM month_item_lines)
SELECT csv.* EXCLUDE (pair), items.resource_id, items.resource_uuid
FROM csv LEFT JOIN items USING (product, group_description, description, start_at, amount_minor, pair)
UNION ALL BY NAME
SELECT * FROM month_item_lines WHERE NOT EXISTS (SELECT 1 FROM month_csv_lines);
