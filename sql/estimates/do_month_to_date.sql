-- The newest DigitalOcean balance snapshot generated inside the month and fetched by $as_of: what the
-- account had accrued so far this month (USD cents), and when DigitalOcean computed it.
SELECT month_to_date_usage_minor, generated_at
FROM ingest.do_balance_snapshots
WHERE generated_at >= $period_start AND generated_at < $period_end AND fetched_at <= $as_of
ORDER BY generated_at DESC, fetched_at DESC
LIMIT 1;
