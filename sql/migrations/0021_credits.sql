-- The marts as an analyst reads them (with 0019-0024, one per area): every view ordered, so a bare
-- SELECT * comes back in a stable, meaningful order, with the tenant's slug (and, on documents, name)
-- and the deployment's slug beside their ids. Column sets only grow: every column keeps its name.

CREATE OR REPLACE VIEW marts.credit_ledger AS
SELECT c.entry_id, c.period_start, c.credit_grant_id, c.tenant_id, t.slug AS tenant_slug, c.kind, c.entry_type,
       c.amount_minor, c.invoice_id, c.line_id
FROM revenue.credit_ledger c LEFT JOIN staging.tenants t ON t.tenant_id = c.tenant_id
ORDER BY c.period_start, t.slug, c.credit_grant_id, c.entry_type, c.entry_id;

CREATE OR REPLACE VIEW marts.tenant_credit_balances AS
SELECT b.period_start, b.tenant_id, t.slug AS tenant_slug, sum(b.granted_minor) AS granted_minor,
       sum(b.consumed_minor) AS consumed_minor, sum(b.expired_minor) AS expired_minor,
       sum(b.remaining_minor) AS remaining_minor
FROM revenue.credit_balances b LEFT JOIN staging.tenants t ON t.tenant_id = b.tenant_id
GROUP BY ALL ORDER BY b.period_start, t.slug;
