-- Per tenant: its budget (staging.tenant_budgets) and the previous month's total (every document of that
-- service month but void ones: the invoice and its corrections), both in the tenant's currency.
SELECT t.tenant_id, b.amount_minor AS budget_minor, p.total_minor AS previous_month_minor
FROM staging.tenants t
LEFT JOIN staging.tenant_budgets b ON b.tenant_id = t.tenant_id AND b.currency = t.currency
LEFT JOIN (SELECT tenant_id, sum(total_minor) AS total_minor FROM revenue.tenant_invoices
           WHERE period_start = $previous_start AND status <> 'void' GROUP BY 1) p ON p.tenant_id = t.tenant_id
ORDER BY t.tenant_id;
