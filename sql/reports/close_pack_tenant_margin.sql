-- The close pack's Tenant margin: one row per tenant and invoice currency (unallocated cost last).
SELECT coalesce(tenant_slug, 'unallocated cost') AS tenant, coalesce(currency, 'USD') AS currency, revenue_minor,
       revenue_usd_minor, cost_usd_minor, margin_usd_minor, margin_pct
FROM marts.tenant_margin
WHERE period_start = $month_start
ORDER BY tenant_slug NULLS LAST, currency
