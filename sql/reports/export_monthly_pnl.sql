-- The monthly_pnl export: the marts view for the window's months, in a stable order.
SELECT * FROM marts.monthly_pnl
WHERE period_start >= $window_start AND period_start < $window_end
ORDER BY period_start
