-- The close pack's Reconciliation: each hop of the month with its drift.
SELECT step, expected, actual, drift_minor, coalesce(details, '') AS details
FROM marts.reconciliation_report
WHERE period_start = $month_start
ORDER BY step
