-- Promotional credit grants close to running out, at each month end (latest first): less than a fifth
-- left, or less than one more month at that month's consumption. Free monthly allowances reset each
-- month and are left out. Add `WHERE month = '2026-10'` (or the latest) for one month end.
WITH consumed AS (
    SELECT credit_grant_id, period_start, -sum(amount_minor) AS consumed_minor
    FROM marts.credit_ledger WHERE entry_type = 'consumed' GROUP BY ALL)
SELECT strftime(b.period_start, '%Y-%m') AS month, t.slug AS tenant_slug, b.credit_grant_id,
       b.granted_minor * 0.01 AS granted, b.consumed_minor * 0.01 AS consumed_to_date,
       coalesce(c.consumed_minor, 0) * 0.01 AS consumed_this_month, b.remaining_minor * 0.01 AS remaining
FROM revenue.credit_balances b
LEFT JOIN consumed c ON c.credit_grant_id = b.credit_grant_id AND c.period_start = b.period_start
LEFT JOIN marts.tenants t ON t.tenant_id = b.tenant_id
WHERE b.kind = 'promotional' AND b.remaining_minor > 0
  AND (b.remaining_minor * 5 < b.granted_minor OR b.remaining_minor < coalesce(c.consumed_minor, 0))
ORDER BY month DESC, remaining, tenant_slug;
