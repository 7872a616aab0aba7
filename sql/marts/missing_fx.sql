-- Invoice currencies of [$window_start, $window_end) that have no USD rate for their month.
SELECT DISTINCT i.currency, strftime(i.period_start, '%Y-%m') AS month
FROM revenue.tenant_invoices i
LEFT JOIN margin.fx_rates fx ON fx.currency = i.currency AND fx.month = strftime(i.period_start, '%Y-%m')
WHERE i.period_start >= $window_start AND i.period_start < $window_end AND i.currency <> 'USD' AND fx.currency IS NULL
ORDER BY 1, 2
