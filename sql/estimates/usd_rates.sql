-- USD per unit of each currency for the running month: the month's own rate when it is published, else
-- the latest earlier one (the month close converts at the month's own rate; an estimate cannot wait).
SELECT currency, arg_max(usd_per_unit, month) AS usd_per_unit
FROM margin.fx_rates WHERE month <= $month
GROUP BY currency;
