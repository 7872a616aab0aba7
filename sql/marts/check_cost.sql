-- Months whose mart cost (unallocated included) differs from the DigitalOcean invoice amount.
SELECT strftime(i.period_start, '%Y-%m') AS month, 'invoice', i.amount_minor, 'mart cost', coalesce(m.cost, 0)
FROM ingest.do_invoices i
LEFT JOIN (SELECT period_start, sum(cost_usd_minor) AS cost FROM margin.deployment_margin GROUP BY 1) m
  USING (period_start)
WHERE i.period_start >= $window_start AND i.period_start < $window_end AND i.status = 'issued'
  AND i.amount_minor IS DISTINCT FROM coalesce(m.cost, 0)
ORDER BY 1
