-- The running month (issue 20): what each tenant's invoice is projected to be, per deployment and
-- metric, from usage so far at a linear run-rate, rated by the month close's own quote engine; the
-- bill-shock alerts it raised; and the live margin beside DigitalOcean's month-to-date balance.
-- A month's estimate rows are replaced by every run for that month (the newest run's as_of is on each
-- row); one summary row per run is kept, so the month's trajectory can be read back.
CREATE TABLE revenue.estimate_runs (
    period_start TIMESTAMP NOT NULL, as_of TIMESTAMP NOT NULL, elapsed_fraction DECIMAL(7, 6) NOT NULL,
    complete BOOLEAN NOT NULL, tenants INTEGER NOT NULL, projected_revenue_usd_minor BIGINT NOT NULL,
    missing_fx VARCHAR, do_month_to_date_usage_minor BIGINT, do_generated_at TIMESTAMP,
    projected_do_cost_usd_minor BIGINT, projected_margin_usd_minor BIGINT, computed_at TIMESTAMP NOT NULL,
    PRIMARY KEY (period_start, as_of));

CREATE TABLE revenue.tenant_estimates (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL, as_of TIMESTAMP NOT NULL,
    currency VARCHAR NOT NULL, subtotal_minor BIGINT NOT NULL, tax_minor BIGINT NOT NULL,
    total_minor BIGINT NOT NULL, subtotal_usd_minor BIGINT, previous_month_minor BIGINT, budget_minor BIGINT,
    reference_kind VARCHAR CHECK (reference_kind IN ('budget', 'previous_month')), reference_minor BIGINT,
    percent_of_reference DECIMAL(9, 1),
    PRIMARY KEY (period_start, tenant_id));

CREATE TABLE revenue.estimate_lines (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL, line_number INTEGER NOT NULL,
    kind VARCHAR NOT NULL, description VARCHAR NOT NULL, quantity DECIMAL(38, 9) NOT NULL,
    amount_minor BIGINT NOT NULL, deployment_id VARCHAR, subscription_id VARCHAR, metric VARCHAR,
    PRIMARY KEY (period_start, tenant_id, line_number));

CREATE TABLE revenue.estimate_usage (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL, deployment_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, source VARCHAR NOT NULL CHECK (source IN ('events', 'resources')),
    quantity_to_date BIGINT NOT NULL, projected_quantity BIGINT NOT NULL,
    PRIMARY KEY (period_start, deployment_id, metric, source));

-- Each threshold a tenant's projection crossed, once per month: the row is the alert (a later run that
-- still finds it crossed adds nothing).
CREATE TABLE revenue.budget_alerts (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR NOT NULL, threshold_percent INTEGER NOT NULL,
    reference_kind VARCHAR NOT NULL CHECK (reference_kind IN ('budget', 'previous_month')),
    reference_minor BIGINT NOT NULL, projected_total_minor BIGINT NOT NULL, currency VARCHAR NOT NULL,
    percent_of_reference DECIMAL(9, 1) NOT NULL, as_of TIMESTAMP NOT NULL,
    PRIMARY KEY (period_start, tenant_id, threshold_percent));

CREATE OR REPLACE VIEW marts.month_to_date_tenants AS
SELECT e.period_start, e.as_of, e.tenant_id, t.slug AS tenant_slug, e.currency, e.subtotal_minor, e.tax_minor,
       e.total_minor, e.subtotal_usd_minor, e.previous_month_minor, e.budget_minor, e.reference_kind,
       e.reference_minor, e.percent_of_reference
FROM revenue.tenant_estimates e LEFT JOIN staging.tenants t ON t.tenant_id = e.tenant_id
ORDER BY e.period_start, t.slug;

CREATE OR REPLACE VIEW marts.month_to_date_deployments AS
SELECT u.period_start, u.tenant_id, t.slug AS tenant_slug, u.deployment_id, d.slug AS deployment_slug,
       u.metric, u.source, u.quantity_to_date, u.projected_quantity,
       (SELECT coalesce(sum(l.amount_minor), 0) FROM revenue.estimate_lines l
        WHERE l.period_start = u.period_start AND l.deployment_id = u.deployment_id AND l.metric = u.metric
          AND l.kind IN ('overage', 'prior_period_usage')) AS projected_overage_minor
FROM revenue.estimate_usage u LEFT JOIN staging.tenants t ON t.tenant_id = u.tenant_id
LEFT JOIN staging.deployments d ON d.deployment_id = u.deployment_id
ORDER BY u.period_start, t.slug, d.slug, u.metric;

CREATE OR REPLACE VIEW marts.month_to_date_margin AS
SELECT r.period_start, r.as_of, r.elapsed_fraction, r.complete, r.tenants, r.projected_revenue_usd_minor,
       r.missing_fx, r.do_month_to_date_usage_minor, r.do_generated_at, r.projected_do_cost_usd_minor,
       r.projected_margin_usd_minor
FROM revenue.estimate_runs r
ORDER BY r.period_start, r.as_of;

CREATE OR REPLACE VIEW marts.budget_alerts AS
SELECT a.period_start, a.tenant_id, t.slug AS tenant_slug, a.threshold_percent, a.reference_kind,
       a.reference_minor, a.projected_total_minor, a.currency, a.percent_of_reference, a.as_of
FROM revenue.budget_alerts a LEFT JOIN staging.tenants t ON t.tenant_id = a.tenant_id
ORDER BY a.period_start, t.slug, a.threshold_percent;
