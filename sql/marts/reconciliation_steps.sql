-- Reconciliation steps computed in SQL for [$window_start, $window_end): one row per month and step.
WITH months AS (
    SELECT range AS period_start FROM range(CAST($window_start AS TIMESTAMP), CAST($window_end AS TIMESTAMP),
                                            INTERVAL 1 MONTH)
), winners AS (  -- first received copy of every key the window's events carry, recounted from the events
    SELECT * FROM staging.usage_events SEMI JOIN (
        SELECT idempotency_key FROM staging.usage_events WHERE occurred_at >= $window_start AND occurred_at < $window_end
    ) USING (idempotency_key)
    QUALIFY row_number() OVER (PARTITION BY idempotency_key ORDER BY received_at, event_id) = 1
), raw_events AS (
    SELECT date_trunc('month', occurred_at) AS period_start, count(*) AS keys,
           list(event_id ORDER BY event_id) AS ids
    FROM winners WHERE occurred_at >= $window_start AND occurred_at < $window_end
      AND idempotency_key NOT IN (SELECT idempotency_key FROM revenue.usage_event_reversals)
    GROUP BY 1
), metered AS (
    SELECT period_start, sum(event_count) AS counted FROM revenue.metered_usage
    WHERE source = 'events' AND period_start >= $window_start AND period_start < $window_end GROUP BY 1
), rejected AS (
    SELECT period_start, count(*) AS n FROM revenue.usage_rejections
    WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
), do_inv AS (
    SELECT period_start, amount_minor FROM ingest.do_invoices
    WHERE period_start >= $window_start AND period_start < $window_end AND status = 'issued'
), lines AS (
    SELECT period_start, sum(amount_minor) AS total FROM ingest.do_cost_lines
    WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
), costs AS (
    SELECT period_start, sum(amount_minor) AS total,
           string_agg(DISTINCT unallocated_reason, ', ' ORDER BY unallocated_reason) FILTER (WHERE cost_type = 'unallocated')
               AS reasons  -- ordered: the report is the same text in every run
    FROM cogs.deployment_costs WHERE period_start >= $window_start AND period_start < $window_end GROUP BY 1
), issued AS (
    SELECT period_start, sum(subtotal_minor) AS subtotal FROM revenue.tenant_invoices
    WHERE period_start >= $window_start AND period_start < $window_end AND status IN ('issued', 'paid') AND currency = 'USD'
    GROUP BY 1
), collected AS (  -- what Stripe reports paid vs the payments we hold (reversals excluded)
    SELECT i.period_start, sum(s.amount_paid_minor) AS stripe_paid, sum(coalesce(p.kept, 0)) AS recorded,
           string_agg(i.invoice_number, ', ' ORDER BY i.invoice_number) FILTER (WHERE s.amount_paid_minor <> coalesce(p.received, 0)
                                                      OR p.reversed > 0) AS differing
    FROM revenue.stripe_invoice_status s JOIN revenue.tenant_invoices i USING (invoice_id)
    LEFT JOIN (  -- an invoice may be paid in parts: its payments summed first
        SELECT p.invoice_id, sum(p.amount_minor) AS received, count(r.payment_id) AS reversed,
               coalesce(sum(p.amount_minor) FILTER (WHERE r.payment_id IS NULL), 0) AS kept
        FROM revenue.payments p LEFT JOIN revenue.payment_reversals r USING (payment_id) GROUP BY 1
    ) p USING (invoice_id)
    WHERE i.period_start >= $window_start AND i.period_start < $window_end GROUP BY 1
), mart AS (
    SELECT period_start, sum(revenue_minor) AS revenue FROM margin.deployment_margin
    WHERE period_start >= $window_start AND period_start < $window_end AND currency = 'USD' GROUP BY 1
)
SELECT m.period_start, '1 usage events -> metered usage',
       coalesce(r.keys, 0) || ' distinct keys (first received copies, not reversed)',
       coalesce(x.counted, 0) || ' counted + ' || coalesce(j.n, 0) || ' rejected',
       coalesce(r.keys, 0) - coalesce(x.counted, 0) - coalesce(j.n, 0),
       CASE WHEN coalesce(r.keys, 0) <> coalesce(x.counted, 0) + coalesce(j.n, 0)
            THEN 'compare revenue.metered_usage with staging.usage_events for event ids ' || array_to_string(r.ids[1:20], ', ') END
FROM months m LEFT JOIN raw_events r USING (period_start) LEFT JOIN metered x USING (period_start)
LEFT JOIN rejected j USING (period_start)
UNION ALL
SELECT m.period_start, '3 DigitalOcean invoice -> cost lines',
       'invoice ' || coalesce(CAST(d.amount_minor AS VARCHAR), 'none'), 'lines ' || coalesce(l.total, 0),
       coalesce(d.amount_minor, 0) - coalesce(l.total, 0), NULL
FROM months m LEFT JOIN do_inv d USING (period_start) LEFT JOIN lines l USING (period_start)
UNION ALL
SELECT m.period_start, '4 cost lines -> deployment costs + unallocated',
       'lines ' || coalesce(l.total, 0), 'costs ' || coalesce(c.total, 0),
       coalesce(l.total, 0) - coalesce(c.total, 0), 'unallocated: ' || coalesce(c.reasons, 'none')
FROM months m LEFT JOIN lines l USING (period_start) LEFT JOIN costs c USING (period_start)
UNION ALL
SELECT m.period_start, '5 issued invoices -> mart revenue (USD documents)',
       'issued subtotals ' || coalesce(i.subtotal, 0), 'mart revenue ' || coalesce(t.revenue, 0),
       coalesce(i.subtotal, 0) - coalesce(t.revenue, 0), NULL
FROM months m LEFT JOIN issued i USING (period_start) LEFT JOIN mart t USING (period_start)
UNION ALL
SELECT m.period_start, '6 issued invoices -> collected (Stripe)',
       'Stripe paid ' || coalesce(c.stripe_paid, 0), 'payments recorded ' || coalesce(c.recorded, 0),
       coalesce(c.stripe_paid, 0) - coalesce(c.recorded, 0),
       CASE WHEN c.stripe_paid IS NULL THEN 'nothing pushed to Stripe for this month'
            WHEN c.differing IS NOT NULL THEN 'check payments and reversals of ' || c.differing END
FROM months m LEFT JOIN collected c USING (period_start)
ORDER BY 1, 2
