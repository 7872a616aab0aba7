-- The source contract's tenant_budgets (issue 20): a tenant's optional monthly budget, compared with
-- the running month's projected invoice. Refreshed with the tenants by the source snapshot.
CREATE TABLE staging.tenant_budgets (
    tenant_id VARCHAR PRIMARY KEY, amount_minor BIGINT NOT NULL, currency VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL);

CREATE OR REPLACE VIEW marts.tenant_budgets AS
SELECT b.tenant_id, t.slug AS tenant_slug, b.amount_minor, b.currency, b.updated_at
FROM staging.tenant_budgets b LEFT JOIN staging.tenants t ON t.tenant_id = b.tenant_id;
