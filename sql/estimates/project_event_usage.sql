-- The linear run-rate, inside the estimate's transaction (always rolled back): the month's on-time
-- event usage so far becomes quantity x $month_seconds / $elapsed_seconds, rounded half-up per row of
-- billable usage (subscription, plan phase, metric), in integers. Late usage of earlier months billed
-- this month is a known fact, not a rate: it is not scaled. Resource-hours are not scaled either: a
-- resource still running is already counted to month end by the month close's own rule.
UPDATE revenue.billable_usage
SET quantity = CAST((CAST(quantity AS HUGEINT) * 2 * $month_seconds + $elapsed_seconds) // (2 * $elapsed_seconds)
                    AS BIGINT)
WHERE billing_period_start = $period_start AND usage_period_start = $period_start AND source = 'events';
