-- Usage attributed to the subscription, plan phase and invoice that bill it (README "How invoices are
-- computed": billable windows, plan phases, late usage on a deterministic cut-off).

-- The source contract's new column: does a partial plan phase get its share of the included quantity?
ALTER TABLE staging.plan_version_charges ADD COLUMN included_quantity_prorated BOOLEAN DEFAULT TRUE;

-- On-time usage of a period, and late usage of earlier periods, per invoice that bills it.
CREATE TABLE revenue.billable_usage (
    billing_period_start TIMESTAMP NOT NULL, usage_period_start TIMESTAMP NOT NULL,
    tenant_id VARCHAR NOT NULL, deployment_id VARCHAR NOT NULL, subscription_id VARCHAR NOT NULL,
    plan_version_id VARCHAR NOT NULL, phase_start TIMESTAMP NOT NULL, metric VARCHAR NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('events', 'resources')),
    quantity BIGINT NOT NULL, event_count BIGINT NOT NULL,
    PRIMARY KEY (billing_period_start, usage_period_start, subscription_id, phase_start, metric, source),
    CHECK (usage_period_start <= billing_period_start));

-- Usage outside every billable window: never billed, listed with the reason.
CREATE TABLE revenue.unbilled_usage (
    billing_period_start TIMESTAMP NOT NULL, usage_period_start TIMESTAMP NOT NULL,
    tenant_id VARCHAR NOT NULL, deployment_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    source VARCHAR NOT NULL CHECK (source IN ('events', 'resources')),
    event_id VARCHAR, resource_id VARCHAR, subscription_id VARCHAR,
    reason VARCHAR NOT NULL CHECK (reason IN ('trial', 'before_start', 'after_cancel', 'no_subscription',
                                              'no_plan_phase')),
    quantity BIGINT NOT NULL, covered_from TIMESTAMP NOT NULL, covered_to TIMESTAMP NOT NULL,
    CHECK ((event_id IS NULL) <> (resource_id IS NULL)));

-- Which invoice bills a late event (the first period whose end + grace is after its received_at).
ALTER TABLE revenue.late_usage ADD COLUMN billed_in_period_start TIMESTAMP;

-- Invoice lines learn the `prior_period_usage` kind and the period such a line's usage occurred in.
CREATE TABLE revenue.tenant_invoice_lines_v2 (
    invoice_id VARCHAR NOT NULL,
    line_number INTEGER NOT NULL,
    line_id VARCHAR NOT NULL UNIQUE,
    kind VARCHAR NOT NULL CHECK (kind IN ('plan_base', 'addon', 'overage', 'prior_period_usage',
                                          'minimum_commitment', 'credit', 'tax')),
    description VARCHAR NOT NULL,
    tenant_id VARCHAR NOT NULL,
    deployment_id VARCHAR,
    subscription_id VARCHAR,
    metric VARCHAR,
    add_on_code VARCHAR,
    plan_version_id VARCHAR,
    credit_grant_id VARCHAR,
    quantity DECIMAL(38, 6) NOT NULL,
    unit_amount_minor DECIMAL(38, 12),
    amount_minor BIGINT NOT NULL,
    tax_rate DECIMAL(9, 6),
    service_start TIMESTAMP,
    service_end TIMESTAMP,
    usage_period_start TIMESTAMP,
    PRIMARY KEY (invoice_id, line_number),
    CHECK ((kind = 'prior_period_usage') = (usage_period_start IS NOT NULL))
);
INSERT INTO revenue.tenant_invoice_lines_v2 BY NAME SELECT * FROM revenue.tenant_invoice_lines;
DROP TABLE revenue.tenant_invoice_lines;
ALTER TABLE revenue.tenant_invoice_lines_v2 RENAME TO tenant_invoice_lines;
