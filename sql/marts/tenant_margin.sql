DELETE FROM margin.tenant_margin WHERE period_start >= $window_start AND period_start < $window_end;

INSERT INTO margin.tenant_margin
SELECT period_start, tenant_id, any_value(tenant_slug), any_value(currency), sum(revenue_minor),
       sum(revenue_usd_minor), sum(cost_usd_minor), sum(margin_usd_minor),
       CASE WHEN sum(revenue_usd_minor) <> 0
            THEN round(100.0 * sum(margin_usd_minor) / sum(revenue_usd_minor), 2) END
FROM margin.deployment_margin
WHERE period_start >= $window_start AND period_start < $window_end
GROUP BY period_start, tenant_id
ORDER BY ALL;
