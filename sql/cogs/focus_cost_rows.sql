-- FOCUS 1.2 Cost and Usage rows for every DigitalOcean cost line of [$window_start, $window_end);
-- provider columns carry the `x_` prefix (FOCUS 1.3's ServiceProviderName and HostProviderName too).
-- DigitalOcean bills in USD only, so cents x 0.01 is the exact BilledCost (DECIMAL; DuckDB's division
-- would go through DOUBLE). Unit prices come from DigitalOcean's published price list (relation
-- `price_list`, billing_assets/do_price_list.csv) by the size slug the line names: hours x the
-- hourly rate, or 1 month x the monthly price where DigitalOcean's monthly cap applies (from
-- monthly_cap_hours, or once the hours would cost more) and for subscriptions. So ListCost and
-- ContractedCost are unit price x quantity exactly; BilledCost is what DigitalOcean billed (the list
-- cost rounded to cents). A size not in the price list keeps its SKU, with no unit price and the
-- billed amount as list cost. Regions come from the resource inventory (volumes name theirs).
WITH window_lines AS (
    SELECT * FROM ingest.do_cost_lines WHERE period_start >= $window_start AND period_start < $window_end
), inventory_matches AS (  -- each line's inventory resources (equi-joins: an OR join would compare every pair)
    SELECT l.invoice_uuid, l.line_number, r.resource_key, r.region
    FROM window_lines l JOIN ingest.do_resources r ON r.provider_resource_id = l.resource_id WHERE l.resource_id <> ''
    UNION ALL
    SELECT l.invoice_uuid, l.line_number, r.resource_key, r.region
    FROM window_lines l JOIN ingest.do_resources r ON r.provider_uuid = l.resource_uuid WHERE l.resource_uuid <> ''
    UNION ALL
    SELECT l.invoice_uuid, l.line_number, r.resource_key, r.region
    FROM window_lines l JOIN ingest.do_resources r ON r.cluster_uuid = l.resource_uuid WHERE l.resource_uuid <> ''
), inventory_region AS (  -- the first resource by key, as the inventory lists it
    SELECT invoice_uuid, line_number, region FROM inventory_matches
    QUALIFY row_number() OVER (PARTITION BY invoice_uuid, line_number ORDER BY resource_key) = 1
), lines AS (
    SELECT l.*, m.kind, m.tenant_id, m.deployment_id, m.match_method, m.resource_id AS platform_resource_id,
           CASE WHEN l.is_tax THEN NULL
                WHEN l.product = 'Database Clusters' THEN split_part(l.description, ' ', 1)
                WHEN l.product = 'Volumes' THEN lower(regexp_extract(l.description, '(\d+GB)$', 1))
                WHEN l.product = 'Spaces Subscription' THEN 'spaces-subscription'
                ELSE nullif(regexp_extract(l.description, '\(([^()]+)\)$', 1), '') END AS size_slug,
           coalesce(r.region, nullif(regexp_extract(l.description, '^.* \(([a-z]{3}[0-9])\) \d+GB$', 1), ''))
               AS region_id
    FROM window_lines l
    JOIN cogs.cost_line_matches m USING (invoice_uuid, line_number)
    LEFT JOIN inventory_region r USING (invoice_uuid, line_number)
), priced AS (
    SELECT x.*, p.sku_meter, p.price_monthly_usd AS monthly, p.price_hourly_usd AS hourly,
           NOT x.is_tax AND p.sku_id IS NOT NULL AND (p.price_hourly_usd IS NULL OR x.hours IS NULL OR
               (p.monthly_cap_hours IS NOT NULL AND (x.hours >= p.monthly_cap_hours
                                                     OR x.hours * p.price_hourly_usd >= p.price_monthly_usd)))
               AS by_month,
           coalesce(x.size_slug, CASE WHEN NOT x.is_tax THEN lower(replace(x.product, ' ', '-')) END) AS sku_id
    FROM lines x LEFT JOIN price_list p ON p.sku_id = x.size_slug
), unit AS (
    SELECT *, CASE WHEN by_month THEN monthly WHEN hourly IS NOT NULL AND hours IS NOT NULL THEN hourly END
                  AS unit_price,
              CASE WHEN is_tax THEN NULL WHEN by_month THEN 1 ELSE hours END AS pricing_quantity,
              CASE WHEN is_tax THEN NULL WHEN by_month THEN 'Month' WHEN hours IS NOT NULL THEN 'Hours' END
                  AS pricing_unit
    FROM priced
)
SELECT
    u.amount_minor * 0.01 AS "BilledCost",
    u.amount_minor * 0.01 AS "EffectiveCost",
    coalesce(u.unit_price * u.pricing_quantity, u.amount_minor * 0.01) AS "ListCost",
    coalesce(u.unit_price * u.pricing_quantity, u.amount_minor * 0.01) AS "ContractedCost",
    u.unit_price AS "ListUnitPrice",
    u.unit_price AS "ContractedUnitPrice",
    u.pricing_quantity AS "PricingQuantity",
    u.pricing_unit AS "PricingUnit",
    CASE WHEN NOT u.is_tax THEN 'Standard' END AS "PricingCategory",
    CASE WHEN NOT u.is_tax THEN coalesce(u.hours, 1) END AS "ConsumedQuantity",
    CASE WHEN NOT u.is_tax THEN CASE WHEN u.hours IS NULL THEN 'Month' ELSE 'Hours' END END AS "ConsumedUnit",
    'digitalocean' AS "BillingAccountId", $billing_account_name AS "BillingAccountName", 'USD' AS "BillingCurrency",
    u.period_start AS "BillingPeriodStart", u.period_start + INTERVAL 1 MONTH AS "BillingPeriodEnd",
    u.start_at AS "ChargePeriodStart", u.end_at AS "ChargePeriodEnd",
    CASE WHEN u.is_tax THEN 'Tax' ELSE 'Usage' END AS "ChargeCategory",
    NULL AS "ChargeClass",  -- FOCUS: null unless the row corrects an earlier billing period; DigitalOcean's lines never do
    u.description AS "ChargeDescription",
    CASE WHEN u.kind = 'spaces' THEN 'Recurring' WHEN u.is_tax THEN 'Recurring' ELSE 'Usage-Based' END
        AS "ChargeFrequency",
    u.invoice_id AS "InvoiceId",
    'DigitalOcean' AS "InvoiceIssuerName", 'DigitalOcean' AS "ProviderName", 'DigitalOcean' AS "PublisherName",
    u.product AS "ServiceName",
    CASE u.kind WHEN 'droplet' THEN 'Compute' WHEN 'kubernetes_cluster' THEN 'Compute' WHEN 'app' THEN 'Web'
         WHEN 'database' THEN 'Databases' WHEN 'volume' THEN 'Storage' WHEN 'spaces' THEN 'Storage'
         WHEN 'snapshot' THEN 'Storage' WHEN 'backup' THEN 'Storage' WHEN 'load_balancer' THEN 'Networking'
         WHEN 'floating_ip' THEN 'Networking' ELSE 'Other' END AS "ServiceCategory",
    CASE u.kind WHEN 'droplet' THEN 'Virtual Machines' WHEN 'kubernetes_cluster' THEN 'Containers'
         WHEN 'app' THEN 'Application Platforms' WHEN 'database' THEN 'Relational Databases'
         WHEN 'volume' THEN 'Block Storage' WHEN 'spaces' THEN 'Object Storage' WHEN 'snapshot' THEN 'Backup Storage'
         WHEN 'backup' THEN 'Backup Storage' WHEN 'load_balancer' THEN 'Application Networking'
         WHEN 'floating_ip' THEN 'Network Connectivity' ELSE 'Other (Other)' END AS "ServiceSubcategory",
    u.sku_id AS "SkuId",
    u.sku_id || CASE WHEN u.by_month THEN '/monthly' WHEN u.unit_price IS NOT NULL THEN '/hourly' ELSE '/billed' END
        AS "SkuPriceId",
    coalesce(u.sku_meter, CASE WHEN u.sku_id IS NOT NULL THEN u.product END) AS "SkuMeter",
    CASE WHEN u.sku_id IS NOT NULL THEN json_object('x_SizeSlug', u.sku_id, 'x_PriceMonthlyUsd', u.monthly,
         'x_PriceHourlyUsd', u.hourly) END AS "SkuPriceDetails",
    CASE WHEN u.resource_id IS NOT NULL AND u.kind = 'droplet' THEN 'do:droplet:' || u.resource_id
         WHEN u.resource_uuid IS NOT NULL THEN 'do:' || CASE u.kind WHEN 'database' THEN 'dbaas'
              WHEN 'load_balancer' THEN 'loadbalancer' WHEN 'kubernetes_cluster' THEN 'kubernetes' ELSE u.kind END
              || ':' || u.resource_uuid
         WHEN u.platform_resource_id IS NOT NULL THEN 'platform:' || u.platform_resource_id END AS "ResourceId",
    CASE WHEN u.kind IN ('kubernetes_cluster', 'database') THEN nullif(u.group_description, '')
         WHEN u.kind IN ('droplet', 'volume', 'load_balancer') THEN split_part(u.description, ' (', 1) END
        AS "ResourceName",
    CASE WHEN u.kind NOT IN ('tax', 'spaces', 'other') THEN u.kind END AS "ResourceType",
    u.region_id AS "RegionId",
    CASE WHEN u.region_id IS NOT NULL THEN coalesce(g.region_name, u.region_id) END AS "RegionName",
    nullif(u.project_name, '') AS "SubAccountId", nullif(u.project_name, '') AS "SubAccountName",
    CASE WHEN u.deployment_id IS NOT NULL THEN json_object('tenant_id', u.tenant_id, 'deployment_id', u.deployment_id)
        END AS "Tags",
    'DigitalOcean' AS "x_ServiceProviderName",
    CASE WHEN u.is_tax THEN NULL ELSE 'DigitalOcean' END AS "x_HostProviderName",
    u.invoice_uuid AS "x_InvoiceUuid", u.line_number AS "x_LineNumber", nullif(u.group_description, '')
        AS "x_GroupDescription", nullif(u.project_name, '') AS "x_ProjectName", nullif(u.category, '') AS "x_Category",
    u.tenant_id AS "x_TenantId", u.deployment_id AS "x_DeploymentId", u.match_method AS "x_MatchMethod",
    '1.2' AS "x_FocusVersion"
FROM unit u LEFT JOIN regions g ON g.region_id = u.region_id
ORDER BY u.period_start, u.invoice_uuid, u.line_number
