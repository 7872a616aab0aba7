-- The operational source contract: what billing_assets reads from the platform's database.
-- Portable DDL (SQLite and PostgreSQL). All timestamps are UTC without an offset; money is
-- integer minor units of the row's currency; fractional unit prices are decimal strings of
-- minor units (like Stripe's unit_amount_decimal) so no float ever carries a price.

CREATE TABLE IF NOT EXISTS tenants (
    tenant_id         VARCHAR(36)  PRIMARY KEY,
    slug              VARCHAR(64)  NOT NULL UNIQUE,
    name              VARCHAR(200) NOT NULL,
    currency          CHAR(3)      NOT NULL,
    tax_jurisdiction  VARCHAR(16)  NOT NULL,
    segment           VARCHAR(32)  NOT NULL DEFAULT 'standard',
    is_internal       BOOLEAN      NOT NULL DEFAULT FALSE,
    billing_email     VARCHAR(200),
    created_at        TIMESTAMP    NOT NULL
);

CREATE TABLE IF NOT EXISTS deployments (
    deployment_id     VARCHAR(36)  PRIMARY KEY,
    tenant_id         VARCHAR(36)  NOT NULL REFERENCES tenants (tenant_id),
    slug              VARCHAR(64)  NOT NULL UNIQUE,
    state             VARCHAR(16)  NOT NULL CHECK (state IN ('provisioning', 'active', 'suspended', 'deleted')),
    created_at        TIMESTAMP    NOT NULL,
    deleted_at        TIMESTAMP
);

CREATE TABLE IF NOT EXISTS plans (
    plan_id           VARCHAR(36)  PRIMARY KEY,
    code              VARCHAR(64)  NOT NULL UNIQUE,
    name              VARCHAR(200) NOT NULL
);

-- A plan version is immutable once published; price changes are new versions.
CREATE TABLE IF NOT EXISTS plan_versions (
    plan_version_id            VARCHAR(36) PRIMARY KEY,
    plan_id                    VARCHAR(36) NOT NULL REFERENCES plans (plan_id),
    version                    INTEGER     NOT NULL,
    currency                   CHAR(3)     NOT NULL,
    base_fee_minor             BIGINT      NOT NULL CHECK (base_fee_minor >= 0),
    minimum_commitment_minor   BIGINT      NOT NULL DEFAULT 0 CHECK (minimum_commitment_minor >= 0),
    monthly_free_credit_minor  BIGINT      NOT NULL DEFAULT 0 CHECK (monthly_free_credit_minor >= 0),
    effective_from             TIMESTAMP   NOT NULL,
    effective_to               TIMESTAMP,
    UNIQUE (plan_id, version)
);

-- One usage charge per (plan version, metric). charge_model: per_unit | graduated | volume | package.
CREATE TABLE IF NOT EXISTS plan_version_charges (
    plan_version_id        VARCHAR(36) NOT NULL REFERENCES plan_versions (plan_version_id),
    metric                 VARCHAR(64) NOT NULL,
    charge_model           VARCHAR(16) NOT NULL CHECK (charge_model IN ('per_unit', 'graduated', 'volume', 'package')),
    included_quantity      BIGINT      NOT NULL DEFAULT 0 CHECK (included_quantity >= 0),
    unit_amount_decimal    VARCHAR(32),
    package_size           BIGINT      CHECK (package_size IS NULL OR package_size > 0),
    package_amount_minor   BIGINT      CHECK (package_amount_minor IS NULL OR package_amount_minor >= 0),
    -- TRUE: a plan phase covering part of the period gets that share of the included quantity.
    included_quantity_prorated BOOLEAN NOT NULL DEFAULT TRUE,
    PRIMARY KEY (plan_version_id, metric)
);

-- Tiers of graduated and volume charges, ordered by tier_index; up_to NULL is the last tier.
CREATE TABLE IF NOT EXISTS plan_version_charge_tiers (
    plan_version_id        VARCHAR(36) NOT NULL,
    metric                 VARCHAR(64) NOT NULL,
    tier_index             INTEGER     NOT NULL,
    up_to                  BIGINT,
    unit_amount_decimal    VARCHAR(32) NOT NULL,
    flat_amount_minor      BIGINT      NOT NULL DEFAULT 0,
    PRIMARY KEY (plan_version_id, metric, tier_index),
    FOREIGN KEY (plan_version_id, metric) REFERENCES plan_version_charges (plan_version_id, metric)
);

CREATE TABLE IF NOT EXISTS add_ons (
    add_on_id         VARCHAR(36)  PRIMARY KEY,
    code              VARCHAR(64)  NOT NULL UNIQUE,
    name              VARCHAR(200) NOT NULL,
    currency          CHAR(3)      NOT NULL,
    price_minor       BIGINT       NOT NULL CHECK (price_minor >= 0)
);

CREATE TABLE IF NOT EXISTS subscriptions (
    subscription_id   VARCHAR(36)  PRIMARY KEY,
    deployment_id     VARCHAR(36)  NOT NULL REFERENCES deployments (deployment_id),
    plan_version_id   VARCHAR(36)  NOT NULL REFERENCES plan_versions (plan_version_id),
    status            VARCHAR(16)  NOT NULL CHECK (status IN ('trialing', 'active', 'canceled')),
    started_at        TIMESTAMP    NOT NULL,
    trial_ends_at     TIMESTAMP,
    canceled_at       TIMESTAMP
);

-- Effective-dated plan history of a subscription: [effective_from, effective_to).
CREATE TABLE IF NOT EXISTS subscription_phases (
    subscription_id   VARCHAR(36)  NOT NULL REFERENCES subscriptions (subscription_id),
    plan_version_id   VARCHAR(36)  NOT NULL REFERENCES plan_versions (plan_version_id),
    effective_from    TIMESTAMP    NOT NULL,
    effective_to      TIMESTAMP,
    PRIMARY KEY (subscription_id, effective_from)
);

-- Price and quantity are snapshotted when the add-on is attached.
CREATE TABLE IF NOT EXISTS subscription_add_ons (
    subscription_add_on_id  VARCHAR(36) PRIMARY KEY,
    subscription_id         VARCHAR(36) NOT NULL REFERENCES subscriptions (subscription_id),
    add_on_id               VARCHAR(36) NOT NULL REFERENCES add_ons (add_on_id),
    unit_price_minor        BIGINT      NOT NULL CHECK (unit_price_minor >= 0),
    quantity                INTEGER     NOT NULL CHECK (quantity > 0),
    attached_at             TIMESTAMP   NOT NULL,
    detached_at             TIMESTAMP
);

CREATE TABLE IF NOT EXISTS cloud_resources (
    resource_id            VARCHAR(36)  PRIMARY KEY,
    deployment_id          VARCHAR(36)  NOT NULL REFERENCES deployments (deployment_id),
    provider               VARCHAR(32)  NOT NULL,
    kind                   VARCHAR(32)  NOT NULL,
    provider_resource_id   VARCHAR(64),
    provider_uuid          VARCHAR(64),
    name                   VARCHAR(200) NOT NULL,
    size_slug              VARCHAR(64),
    region                 VARCHAR(16),
    created_at             TIMESTAMP    NOT NULL,
    deleted_at             TIMESTAMP
);

-- Credit grants: promotional (a balance used until it runs out or expires) or free_monthly (an
-- allowance that resets every period and never rolls over). Optional deployment scope.
CREATE TABLE IF NOT EXISTS credit_grants (
    credit_grant_id   VARCHAR(36)  PRIMARY KEY,
    tenant_id         VARCHAR(36)  NOT NULL REFERENCES tenants (tenant_id),
    kind              VARCHAR(16)  NOT NULL CHECK (kind IN ('promotional', 'free_monthly')),
    amount_minor      BIGINT       NOT NULL CHECK (amount_minor > 0),
    currency          CHAR(3)      NOT NULL,
    effective_from    TIMESTAMP    NOT NULL,
    expires_at        TIMESTAMP,
    deployment_id     VARCHAR(36)  REFERENCES deployments (deployment_id),
    reason            VARCHAR(500) NOT NULL,
    granted_by        VARCHAR(200) NOT NULL
);

-- A tenant's monthly budget, in the tenant's currency, tax included (what the tenant pays): the
-- running month's projected invoice is compared with it for bill-shock alerts. Optional; without one,
-- the previous month's total is the reference. One current budget per tenant.
CREATE TABLE IF NOT EXISTS tenant_budgets (
    tenant_id         VARCHAR(36)  PRIMARY KEY REFERENCES tenants (tenant_id),
    amount_minor      BIGINT       NOT NULL CHECK (amount_minor > 0),
    currency          CHAR(3)      NOT NULL,
    updated_at        TIMESTAMP    NOT NULL
);

-- Quantities are whole units of the metric (a metric needing fractions is defined in a finer unit).
CREATE TABLE IF NOT EXISTS usage_events (
    event_id           VARCHAR(36)  PRIMARY KEY,
    idempotency_key    VARCHAR(128) NOT NULL,
    deployment_id      VARCHAR(36)  NOT NULL,
    metric             VARCHAR(64)  NOT NULL,
    quantity           BIGINT       NOT NULL,
    occurred_at        TIMESTAMP    NOT NULL,
    received_at        TIMESTAMP    NOT NULL
);

CREATE INDEX IF NOT EXISTS usage_events_received_at ON usage_events (received_at);
