-- FOCUS rows priced from DigitalOcean's published price list (billing_assets/do_price_list.csv):
-- ListCost / ContractedCost now equal unit price x quantity exactly (up to 6 decimals, so no longer
-- the billed cents), SKU and region columns are added, and the two FOCUS 1.3 columns written into
-- the 1.2 rows move under the provider prefix (x_ServiceProviderName, x_HostProviderName), so each
-- file is plain FOCUS 1.2. Rows written before keep their values (SKU and region columns empty)
-- until their month's focus_cost_rows is materialized again.
CREATE TABLE cogs.focus_cost_rows_v2 (
    "BilledCost" DECIMAL(18, 2) NOT NULL, "EffectiveCost" DECIMAL(18, 2) NOT NULL, "ListCost" DECIMAL(18, 6) NOT NULL,
    "ContractedCost" DECIMAL(18, 6) NOT NULL, "ListUnitPrice" DECIMAL(18, 6), "ContractedUnitPrice" DECIMAL(18, 6),
    "PricingQuantity" DECIMAL(18, 2), "PricingUnit" VARCHAR, "PricingCategory" VARCHAR,
    "ConsumedQuantity" DECIMAL(18, 2), "ConsumedUnit" VARCHAR,
    "BillingAccountId" VARCHAR NOT NULL, "BillingAccountName" VARCHAR, "BillingCurrency" VARCHAR NOT NULL,
    "BillingPeriodStart" TIMESTAMP NOT NULL, "BillingPeriodEnd" TIMESTAMP NOT NULL,
    "ChargePeriodStart" TIMESTAMP NOT NULL, "ChargePeriodEnd" TIMESTAMP NOT NULL,
    "ChargeCategory" VARCHAR NOT NULL, "ChargeClass" VARCHAR, "ChargeDescription" VARCHAR,
    "ChargeFrequency" VARCHAR, "InvoiceId" VARCHAR, "InvoiceIssuerName" VARCHAR NOT NULL,
    "ProviderName" VARCHAR NOT NULL, "PublisherName" VARCHAR NOT NULL,
    "ServiceName" VARCHAR NOT NULL, "ServiceCategory" VARCHAR NOT NULL, "ServiceSubcategory" VARCHAR,
    "SkuId" VARCHAR, "SkuPriceId" VARCHAR, "SkuMeter" VARCHAR, "SkuPriceDetails" VARCHAR,
    "ResourceId" VARCHAR, "ResourceName" VARCHAR, "ResourceType" VARCHAR,
    "RegionId" VARCHAR, "RegionName" VARCHAR, "SubAccountId" VARCHAR, "SubAccountName" VARCHAR, "Tags" VARCHAR,
    "x_ServiceProviderName" VARCHAR, "x_HostProviderName" VARCHAR,
    "x_InvoiceUuid" VARCHAR NOT NULL, "x_LineNumber" INTEGER NOT NULL, "x_GroupDescription" VARCHAR,
    "x_ProjectName" VARCHAR, "x_Category" VARCHAR, "x_TenantId" VARCHAR, "x_DeploymentId" VARCHAR,
    "x_MatchMethod" VARCHAR, "x_FocusVersion" VARCHAR NOT NULL,
    PRIMARY KEY ("x_InvoiceUuid", "x_LineNumber"));
INSERT INTO cogs.focus_cost_rows_v2 BY NAME
SELECT * EXCLUDE ("ServiceProviderName", "HostProviderName"), "ServiceProviderName" AS "x_ServiceProviderName",
       "HostProviderName" AS "x_HostProviderName"
FROM cogs.focus_cost_rows;
DROP TABLE cogs.focus_cost_rows;
ALTER TABLE cogs.focus_cost_rows_v2 RENAME TO focus_cost_rows;
