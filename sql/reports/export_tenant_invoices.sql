-- The tenant_invoices export: the marts view for the window's months, in a stable order.
SELECT * FROM marts.tenant_invoices
WHERE period_start >= $window_start AND period_start < $window_end
ORDER BY period_start, tenant_slug, correction_seq
