-- Tie-out findings for [$window_start, $window_end): per month, deployment costs (unallocated
-- included) vs cost lines vs the DigitalOcean invoice amount; and lines in zero or two buckets.
WITH months AS (
    SELECT period_start, amount_minor AS invoice_minor FROM ingest.do_invoices
    WHERE period_start >= $window_start AND period_start < $window_end AND status = 'issued'
), lines AS (
    SELECT period_start, sum(amount_minor) AS lines_minor, count(*) AS line_count FROM ingest.do_cost_lines
    WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
), costs AS (
    SELECT period_start, sum(amount_minor) AS costs_minor FROM cogs.deployment_costs
    WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
), matched AS (
    SELECT period_start, count(*) AS matched_count, count(DISTINCT (invoice_uuid, line_number)) AS distinct_count
    FROM cogs.cost_line_matches WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
)
SELECT 'totals' AS finding, strftime(m.period_start, '%Y-%m') AS period,
       'invoice ' || coalesce(CAST(m.invoice_minor AS VARCHAR), '?') || ', cost lines '
       || coalesce(CAST(l.lines_minor AS VARCHAR), '0') || ', deployment costs + unallocated '
       || coalesce(CAST(c.costs_minor AS VARCHAR), '0') || ' (cents)' AS detail
FROM months m LEFT JOIN lines l USING (period_start) LEFT JOIN costs c USING (period_start)
WHERE coalesce(m.invoice_minor, 0) <> coalesce(c.costs_minor, 0) OR coalesce(l.lines_minor, 0) <> coalesce(c.costs_minor, 0)
UNION ALL
SELECT 'buckets', strftime(l.period_start, '%Y-%m'),
       l.line_count || ' cost lines but ' || coalesce(x.matched_count, 0) || ' matches ('
       || coalesce(x.distinct_count, 0) || ' distinct)'
FROM lines l LEFT JOIN matched x USING (period_start)
WHERE l.line_count <> coalesce(x.matched_count, 0) OR coalesce(x.matched_count, 0) <> coalesce(x.distinct_count, 0)
ORDER BY 1, 2
