-- The window's cost lines grouped by product, for the asset preview.
SELECT strftime(period_start, '%Y-%m') AS period, product, count(*) AS lines, sum(amount_minor) AS amount_minor,
       count(*) FILTER (WHERE resource_id IS NOT NULL OR resource_uuid IS NOT NULL) AS with_resource_ids
FROM ingest.do_cost_lines
WHERE period_start >= $s AND period_start < $e
GROUP BY ALL ORDER BY period, amount_minor DESC
