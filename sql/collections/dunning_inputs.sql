-- Per tenant with open receivables or deployments: the facts the dunning policy reads (aging.py),
-- as of $as_of. Failed payments and open disputes count only on documents still open.
WITH open_docs AS (SELECT * FROM revenue.receivables_aging WHERE as_of_date = CAST($as_of AS DATE)),
failures AS (
    SELECT f.tenant_id, count(*) AS failed_payments FROM revenue.payment_failures f
    JOIN open_docs o USING (invoice_id) WHERE f.failed_at < CAST($as_of AS DATE) + INTERVAL 1 DAY GROUP BY 1
), disputes AS (
    SELECT tenant_id, count(*) AS open_disputes FROM revenue.stripe_disputes
    WHERE status NOT IN ('won', 'warning_closed') GROUP BY 1
), deployments AS (
    SELECT tenant_id, string_agg(DISTINCT state, ',' ORDER BY state) AS deployment_states
    FROM staging.deployments WHERE state <> 'deleted' GROUP BY 1
), owed AS (
    SELECT tenant_id, max(days_past_due) AS oldest_days_past_due, sum(open_usd_minor) AS open_usd_minor,
           count(*) AS open_documents
    FROM open_docs GROUP BY 1
)
SELECT t.tenant_id, t.slug, coalesce(o.oldest_days_past_due, 0), coalesce(o.open_usd_minor, 0),
       coalesce(o.open_documents, 0), coalesce(f.failed_payments, 0), coalesce(d.open_disputes, 0),
       coalesce(s.deployment_states, '')
FROM staging.tenants t
LEFT JOIN owed o USING (tenant_id) LEFT JOIN failures f USING (tenant_id) LEFT JOIN disputes d USING (tenant_id)
LEFT JOIN deployments s USING (tenant_id)
WHERE o.tenant_id IS NOT NULL OR s.tenant_id IS NOT NULL
ORDER BY t.slug;
