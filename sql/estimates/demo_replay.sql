-- The demo's table of a replayed month: each tenant's projection, its reference, the alerts it raised,
-- and what the month close invoiced for that month (minor units of the tenant's currency).
SELECT e.tenant_slug, e.currency, e.total_minor, e.reference_kind, e.reference_minor, e.percent_of_reference,
       coalesce((SELECT string_agg(a.threshold_percent || '%', ' ' ORDER BY a.threshold_percent)
                 FROM revenue.budget_alerts a WHERE a.period_start = e.period_start AND a.tenant_id = e.tenant_id), '')
           AS alerts,
       (SELECT sum(i.total_minor) FROM revenue.tenant_invoices i
        WHERE i.period_start = e.period_start AND i.tenant_id = e.tenant_id AND i.status <> 'void') AS invoiced_minor
FROM marts.month_to_date_tenants e
WHERE e.period_start = $month
ORDER BY e.tenant_slug;
