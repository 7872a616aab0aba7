-- Per month and currency: mart revenue vs issued documents' subtotals (credit notes count negative).
WITH issued AS (
    SELECT period_start, currency, sum(subtotal_minor) AS subtotal FROM revenue.tenant_invoices
    WHERE period_start >= $window_start AND period_start < $window_end AND status IN ('issued', 'paid') GROUP BY ALL
), mart AS (
    SELECT period_start, currency, sum(revenue_minor) AS revenue FROM margin.deployment_margin
    WHERE period_start >= $window_start AND period_start < $window_end AND currency IS NOT NULL GROUP BY ALL
)
SELECT strftime(coalesce(i.period_start, m.period_start), '%Y-%m'), coalesce(i.currency, m.currency),
       'issued subtotals', coalesce(i.subtotal, 0), 'mart revenue', coalesce(m.revenue, 0)
FROM issued i FULL OUTER JOIN mart m USING (period_start, currency)
WHERE coalesce(i.subtotal, 0) <> coalesce(m.revenue, 0)
ORDER BY 1, 2
