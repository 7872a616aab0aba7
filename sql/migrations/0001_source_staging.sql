-- staging: a consistent snapshot of the operational source (sql/source/schema.sql), replaced whole
-- by the source snapshot assets. Timestamps are UTC.
CREATE SCHEMA IF NOT EXISTS staging;

CREATE TABLE IF NOT EXISTS staging.tenants (
    tenant_id VARCHAR PRIMARY KEY, slug VARCHAR NOT NULL, name VARCHAR NOT NULL, currency VARCHAR NOT NULL,
    tax_jurisdiction VARCHAR NOT NULL, segment VARCHAR NOT NULL, is_internal BOOLEAN NOT NULL,
    billing_email VARCHAR, created_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS staging.deployments (
    deployment_id VARCHAR PRIMARY KEY, tenant_id VARCHAR NOT NULL, slug VARCHAR NOT NULL, state VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL, deleted_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging.plans (plan_id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE IF NOT EXISTS staging.plan_versions (
    plan_version_id VARCHAR PRIMARY KEY, plan_id VARCHAR NOT NULL, version INTEGER NOT NULL, currency VARCHAR NOT NULL,
    base_fee_minor BIGINT NOT NULL, minimum_commitment_minor BIGINT NOT NULL, monthly_free_credit_minor BIGINT NOT NULL,
    effective_from TIMESTAMP NOT NULL, effective_to TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging.plan_version_charges (
    plan_version_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, charge_model VARCHAR NOT NULL,
    included_quantity BIGINT NOT NULL, unit_amount_decimal VARCHAR, package_size BIGINT, package_amount_minor BIGINT,
    PRIMARY KEY (plan_version_id, metric));
CREATE TABLE IF NOT EXISTS staging.plan_version_charge_tiers (
    plan_version_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, tier_index INTEGER NOT NULL, up_to BIGINT,
    unit_amount_decimal VARCHAR NOT NULL, flat_amount_minor BIGINT NOT NULL,
    PRIMARY KEY (plan_version_id, metric, tier_index));
CREATE TABLE IF NOT EXISTS staging.add_ons (
    add_on_id VARCHAR PRIMARY KEY, code VARCHAR NOT NULL, name VARCHAR NOT NULL, currency VARCHAR NOT NULL,
    price_minor BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS staging.subscriptions (
    subscription_id VARCHAR PRIMARY KEY, deployment_id VARCHAR NOT NULL, plan_version_id VARCHAR NOT NULL,
    status VARCHAR NOT NULL, started_at TIMESTAMP NOT NULL, trial_ends_at TIMESTAMP, canceled_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging.subscription_phases (
    subscription_id VARCHAR NOT NULL, plan_version_id VARCHAR NOT NULL, effective_from TIMESTAMP NOT NULL,
    effective_to TIMESTAMP, PRIMARY KEY (subscription_id, effective_from));
CREATE TABLE IF NOT EXISTS staging.subscription_add_ons (
    subscription_add_on_id VARCHAR PRIMARY KEY, subscription_id VARCHAR NOT NULL, add_on_id VARCHAR NOT NULL,
    unit_price_minor BIGINT NOT NULL, quantity INTEGER NOT NULL, attached_at TIMESTAMP NOT NULL,
    detached_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging.cloud_resources (
    resource_id VARCHAR PRIMARY KEY, deployment_id VARCHAR NOT NULL, provider VARCHAR NOT NULL, kind VARCHAR NOT NULL,
    provider_resource_id VARCHAR, provider_uuid VARCHAR, name VARCHAR NOT NULL, size_slug VARCHAR, region VARCHAR,
    created_at TIMESTAMP NOT NULL, deleted_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS staging.usage_events (
    event_id VARCHAR NOT NULL, idempotency_key VARCHAR NOT NULL, deployment_id VARCHAR NOT NULL,
    metric VARCHAR NOT NULL, quantity BIGINT NOT NULL, occurred_at TIMESTAMP NOT NULL, received_at TIMESTAMP NOT NULL);

CREATE TABLE IF NOT EXISTS staging.credit_grants (
    credit_grant_id VARCHAR PRIMARY KEY, tenant_id VARCHAR NOT NULL, kind VARCHAR NOT NULL, amount_minor BIGINT NOT NULL,
    currency VARCHAR NOT NULL, effective_from TIMESTAMP NOT NULL, expires_at TIMESTAMP, deployment_id VARCHAR,
    reason VARCHAR NOT NULL, granted_by VARCHAR NOT NULL);

-- One row per table per snapshot: what was read, from where (URL without credentials), when.
CREATE TABLE IF NOT EXISTS staging.snapshot_log (
    table_name VARCHAR NOT NULL, row_count BIGINT NOT NULL, source VARCHAR NOT NULL,
    snapshot_at TIMESTAMP NOT NULL);

-- The source's analyst views (the `marts` schema is where analysts read; each area creates its own).
CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE VIEW marts.tenants AS SELECT tenant_id, slug, name, currency, tax_jurisdiction, segment, is_internal
    FROM staging.tenants;
CREATE OR REPLACE VIEW marts.deployments AS SELECT deployment_id, tenant_id, slug, state, created_at, deleted_at
    FROM staging.deployments;
