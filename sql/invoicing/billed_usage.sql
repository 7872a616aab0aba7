-- What the invoice of period $period_start bills, per subscription, plan phase and metric: the period's
-- on-time usage, and the late usage of earlier periods with what earlier invoices already billed for
-- those periods (prior), which sets the margin late usage is priced at.
WITH now AS (
    SELECT subscription_id, usage_period_start, phase_start, metric, sum(quantity) AS quantity
    FROM revenue.billable_usage WHERE billing_period_start = $period_start
    GROUP BY ALL
), earlier AS (
    SELECT b.subscription_id, b.usage_period_start, b.phase_start, b.metric, sum(b.quantity) AS quantity
    FROM revenue.billable_usage b
    SEMI JOIN (SELECT DISTINCT subscription_id, usage_period_start, metric FROM now
               WHERE usage_period_start < $period_start) l USING (subscription_id, usage_period_start, metric)
    WHERE b.billing_period_start < $period_start
    GROUP BY ALL
)
SELECT subscription_id, usage_period_start, phase_start, metric, coalesce(n.quantity, 0) AS quantity,
       coalesce(e.quantity, 0) AS prior
FROM now n FULL JOIN earlier e USING (subscription_id, usage_period_start, phase_start, metric)
ORDER BY ALL;
