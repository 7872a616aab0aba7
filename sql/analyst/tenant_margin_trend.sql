-- Margin % per tenant, one column per month (null: no revenue that month).
PIVOT (SELECT tenant_slug, strftime(period_start, '%Y-%m') AS month, margin_pct
       FROM marts.tenant_margin WHERE tenant_slug IS NOT NULL)
ON month USING first(margin_pct)
ORDER BY tenant_slug;
