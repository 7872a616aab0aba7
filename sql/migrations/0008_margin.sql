-- margin: cost vs revenue. Tables live in `margin`; analysts read the stable views in `marts`.
CREATE SCHEMA IF NOT EXISTS margin;
CREATE SCHEMA IF NOT EXISTS marts;

-- Revenue metrics and cost resource kinds meet here: revenue lines on a metric map to the resource kind
-- whose cost they recover; every other revenue line (base fee, add-ons, API usage...) is `platform`.
CREATE TABLE IF NOT EXISTS margin.metric_resource_kinds (metric VARCHAR PRIMARY KEY, resource_kind VARCHAR NOT NULL);
INSERT OR IGNORE INTO margin.metric_resource_kinds VALUES
    ('droplet_hours', 'droplet'), ('volume_hours', 'volume'), ('database_hours', 'database'),
    ('load_balancer_hours', 'load_balancer'), ('kubernetes_cluster_hours', 'kubernetes_cluster');

-- Monthly average USD value of one major unit of a currency (USD itself is always 1).
CREATE TABLE IF NOT EXISTS margin.fx_rates (currency VARCHAR NOT NULL, month VARCHAR NOT NULL,
    usd_per_unit DECIMAL(18, 8) NOT NULL, PRIMARY KEY (currency, month));
CREATE TABLE IF NOT EXISTS margin.currency_exponents (currency VARCHAR PRIMARY KEY, exponent INTEGER NOT NULL);

CREATE TABLE IF NOT EXISTS margin.deployment_margin (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR, tenant_slug VARCHAR, deployment_id VARCHAR,
    deployment_slug VARCHAR, resource_kind VARCHAR NOT NULL, currency VARCHAR,
    revenue_minor BIGINT NOT NULL, revenue_usd_minor BIGINT NOT NULL, cost_usd_minor BIGINT NOT NULL,
    margin_usd_minor BIGINT NOT NULL, margin_pct DECIMAL(9, 2));

CREATE TABLE IF NOT EXISTS margin.tenant_margin (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR, tenant_slug VARCHAR, currency VARCHAR,
    revenue_minor BIGINT NOT NULL, revenue_usd_minor BIGINT NOT NULL, cost_usd_minor BIGINT NOT NULL,
    margin_usd_minor BIGINT NOT NULL, margin_pct DECIMAL(9, 2));

CREATE TABLE IF NOT EXISTS margin.monthly_pnl (
    period_start TIMESTAMP PRIMARY KEY, revenue_usd_minor BIGINT NOT NULL, credits_usd_minor BIGINT NOT NULL,
    cost_of_goods_usd_minor BIGINT NOT NULL, gross_margin_usd_minor BIGINT NOT NULL, gross_margin_pct DECIMAL(9, 2),
    tax_collected_usd_minor BIGINT NOT NULL, provider_tax_paid_usd_minor BIGINT NOT NULL,
    unallocated_cost_usd_minor BIGINT NOT NULL, draft_revenue_usd_minor BIGINT NOT NULL);

CREATE TABLE IF NOT EXISTS margin.reconciliation_report (
    period_start TIMESTAMP NOT NULL, step VARCHAR NOT NULL, expected VARCHAR, actual VARCHAR,
    drift_minor BIGINT NOT NULL, details VARCHAR, PRIMARY KEY (period_start, step));

CREATE OR REPLACE VIEW marts.deployment_margin AS SELECT * FROM margin.deployment_margin;
CREATE OR REPLACE VIEW marts.tenant_margin AS SELECT * FROM margin.tenant_margin;
CREATE OR REPLACE VIEW marts.monthly_pnl AS SELECT * FROM margin.monthly_pnl;
CREATE OR REPLACE VIEW marts.reconciliation_report AS SELECT * FROM margin.reconciliation_report;
