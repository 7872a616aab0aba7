-- The reconciliation_report export: the marts view for the window's months, in a stable order.
SELECT * FROM marts.reconciliation_report
WHERE period_start >= $window_start AND period_start < $window_end
ORDER BY period_start, step
