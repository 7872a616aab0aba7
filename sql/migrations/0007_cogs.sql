-- cogs: DigitalOcean cost lines matched to resources and deployments, costs per deployment, FOCUS rows.
CREATE SCHEMA IF NOT EXISTS cogs;

CREATE TABLE IF NOT EXISTS cogs.cost_line_matches (
    period_start TIMESTAMP NOT NULL, invoice_uuid VARCHAR NOT NULL, line_number INTEGER NOT NULL,
    product VARCHAR NOT NULL, description VARCHAR NOT NULL, kind VARCHAR NOT NULL, amount_minor BIGINT NOT NULL,
    match_method VARCHAR NOT NULL, resource_id VARCHAR, deployment_id VARCHAR, tenant_id VARCHAR,
    unallocated_reason VARCHAR,
    PRIMARY KEY (invoice_uuid, line_number),
    CHECK ((deployment_id IS NULL) = (unallocated_reason IS NOT NULL)));

CREATE TABLE IF NOT EXISTS cogs.deployment_costs (
    period_start TIMESTAMP NOT NULL, tenant_id VARCHAR, deployment_id VARCHAR, resource_kind VARCHAR NOT NULL,
    cost_type VARCHAR NOT NULL CHECK (cost_type IN ('direct', 'shared_allocation', 'unallocated')),
    unallocated_reason VARCHAR, amount_minor BIGINT NOT NULL, line_count INTEGER NOT NULL, currency VARCHAR NOT NULL,
    allocation_method VARCHAR NOT NULL);

CREATE TABLE IF NOT EXISTS cogs.focus_cost_rows (
    "BilledCost" DECIMAL(18, 2) NOT NULL, "EffectiveCost" DECIMAL(18, 2) NOT NULL, "ListCost" DECIMAL(18, 2) NOT NULL,
    "ContractedCost" DECIMAL(18, 2) NOT NULL, "ListUnitPrice" DECIMAL(18, 6), "ContractedUnitPrice" DECIMAL(18, 6),
    "PricingQuantity" DECIMAL(18, 2), "PricingUnit" VARCHAR, "PricingCategory" VARCHAR,
    "ConsumedQuantity" DECIMAL(18, 2), "ConsumedUnit" VARCHAR,
    "BillingAccountId" VARCHAR NOT NULL, "BillingAccountName" VARCHAR, "BillingCurrency" VARCHAR NOT NULL,
    "BillingPeriodStart" TIMESTAMP NOT NULL, "BillingPeriodEnd" TIMESTAMP NOT NULL,
    "ChargePeriodStart" TIMESTAMP NOT NULL, "ChargePeriodEnd" TIMESTAMP NOT NULL,
    "ChargeCategory" VARCHAR NOT NULL, "ChargeClass" VARCHAR, "ChargeDescription" VARCHAR,
    "ChargeFrequency" VARCHAR, "InvoiceId" VARCHAR, "InvoiceIssuerName" VARCHAR NOT NULL,
    "ProviderName" VARCHAR NOT NULL, "PublisherName" VARCHAR NOT NULL, "ServiceProviderName" VARCHAR NOT NULL,
    "HostProviderName" VARCHAR, "ServiceName" VARCHAR NOT NULL, "ServiceCategory" VARCHAR NOT NULL,
    "ServiceSubcategory" VARCHAR, "ResourceId" VARCHAR, "ResourceName" VARCHAR, "ResourceType" VARCHAR,
    "RegionId" VARCHAR, "SubAccountId" VARCHAR, "SubAccountName" VARCHAR, "Tags" VARCHAR,
    "x_InvoiceUuid" VARCHAR NOT NULL, "x_LineNumber" INTEGER NOT NULL, "x_GroupDescription" VARCHAR,
    "x_ProjectName" VARCHAR, "x_Category" VARCHAR, "x_TenantId" VARCHAR, "x_DeploymentId" VARCHAR,
    "x_MatchMethod" VARCHAR, "x_FocusVersion" VARCHAR NOT NULL,
    PRIMARY KEY ("x_InvoiceUuid", "x_LineNumber"));

CREATE SCHEMA IF NOT EXISTS marts;
CREATE OR REPLACE VIEW marts.deployment_costs AS SELECT * FROM cogs.deployment_costs;
