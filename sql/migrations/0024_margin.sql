-- The marts as an analyst reads them (with 0019-0024, one per area): every view ordered, so a bare
-- SELECT * comes back in a stable, meaningful order, with the tenant's slug (and, on documents, name)
-- and the deployment's slug beside their ids. Column sets only grow: every column keeps its name.

CREATE OR REPLACE VIEW marts.deployment_margin AS
SELECT * FROM margin.deployment_margin
ORDER BY period_start, tenant_slug NULLS LAST, deployment_slug, resource_kind, currency;

CREATE OR REPLACE VIEW marts.tenant_margin AS
SELECT * FROM margin.tenant_margin ORDER BY period_start, tenant_slug NULLS LAST, currency;

CREATE OR REPLACE VIEW marts.monthly_pnl AS SELECT * FROM margin.monthly_pnl ORDER BY period_start;

CREATE OR REPLACE VIEW marts.reconciliation_report AS
SELECT * FROM margin.reconciliation_report ORDER BY period_start, step;
