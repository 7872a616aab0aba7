-- FOCUS 1.2 Cost and Usage rows (plus 1.3's ServiceProviderName and HostProviderName) for every
-- DigitalOcean cost line of [$window_start, $window_end). DigitalOcean bills in USD only, so
-- cents x 0.01 is the exact BilledCost (DECIMAL; DuckDB's division would go through DOUBLE).
-- Unit prices are cents per hour to 6 decimals, half-up, by integer arithmetic.
SELECT
    l.amount_minor * 0.01 AS "BilledCost",
    l.amount_minor * 0.01 AS "EffectiveCost",
    l.amount_minor * 0.01 AS "ListCost",
    l.amount_minor * 0.01 AS "ContractedCost",
    CASE WHEN NOT l.is_tax THEN CAST((l.amount_minor * 20000 + greatest(coalesce(l.hours, 1), 1))
         // (2 * greatest(coalesce(l.hours, 1), 1)) AS DECIMAL(18, 0)) * 0.000001 END AS "ListUnitPrice",
    CASE WHEN NOT l.is_tax THEN CAST((l.amount_minor * 20000 + greatest(coalesce(l.hours, 1), 1))
         // (2 * greatest(coalesce(l.hours, 1), 1)) AS DECIMAL(18, 0)) * 0.000001 END AS "ContractedUnitPrice",
    CASE WHEN NOT l.is_tax THEN CAST(coalesce(l.hours, 1) AS DECIMAL(18, 2)) END AS "PricingQuantity",
    CASE WHEN NOT l.is_tax THEN CASE WHEN l.hours IS NULL THEN 'Month' ELSE 'Hours' END END AS "PricingUnit",
    CASE WHEN NOT l.is_tax THEN 'Standard' END AS "PricingCategory",
    CASE WHEN NOT l.is_tax THEN CAST(coalesce(l.hours, 1) AS DECIMAL(18, 2)) END AS "ConsumedQuantity",
    CASE WHEN NOT l.is_tax THEN CASE WHEN l.hours IS NULL THEN 'Month' ELSE 'Hours' END END AS "ConsumedUnit",
    'digitalocean' AS "BillingAccountId", NULL AS "BillingAccountName", 'USD' AS "BillingCurrency",
    l.period_start AS "BillingPeriodStart", l.period_start + INTERVAL 1 MONTH AS "BillingPeriodEnd",
    l.start_at AS "ChargePeriodStart", l.end_at AS "ChargePeriodEnd",
    CASE WHEN l.is_tax THEN 'Tax' ELSE 'Usage' END AS "ChargeCategory",
    NULL AS "ChargeClass",
    l.description AS "ChargeDescription",
    CASE WHEN m.kind = 'spaces' THEN 'Recurring' WHEN l.is_tax THEN 'Recurring' ELSE 'Usage-Based' END
        AS "ChargeFrequency",
    l.invoice_id AS "InvoiceId",
    'DigitalOcean' AS "InvoiceIssuerName", 'DigitalOcean' AS "ProviderName", 'DigitalOcean' AS "PublisherName",
    'DigitalOcean' AS "ServiceProviderName",
    CASE WHEN l.is_tax THEN NULL ELSE 'DigitalOcean' END AS "HostProviderName",
    l.product AS "ServiceName",
    CASE m.kind WHEN 'droplet' THEN 'Compute' WHEN 'kubernetes_cluster' THEN 'Compute' WHEN 'app' THEN 'Web'
         WHEN 'database' THEN 'Databases' WHEN 'volume' THEN 'Storage' WHEN 'spaces' THEN 'Storage'
         WHEN 'snapshot' THEN 'Storage' WHEN 'backup' THEN 'Storage' WHEN 'load_balancer' THEN 'Networking'
         WHEN 'floating_ip' THEN 'Networking' ELSE 'Other' END AS "ServiceCategory",
    CASE m.kind WHEN 'droplet' THEN 'Virtual Machines' WHEN 'kubernetes_cluster' THEN 'Containers'
         WHEN 'app' THEN 'Application Platforms' WHEN 'database' THEN 'Relational Databases'
         WHEN 'volume' THEN 'Block Storage' WHEN 'spaces' THEN 'Object Storage' WHEN 'snapshot' THEN 'Backup Storage'
         WHEN 'backup' THEN 'Backup Storage' WHEN 'load_balancer' THEN 'Application Networking'
         WHEN 'floating_ip' THEN 'Network Connectivity' ELSE 'Other (Other)' END AS "ServiceSubcategory",
    CASE WHEN l.resource_id IS NOT NULL AND m.kind = 'droplet' THEN 'do:droplet:' || l.resource_id
         WHEN l.resource_uuid IS NOT NULL THEN 'do:' || CASE m.kind WHEN 'database' THEN 'dbaas'
              WHEN 'load_balancer' THEN 'loadbalancer' WHEN 'kubernetes_cluster' THEN 'kubernetes' ELSE m.kind END
              || ':' || l.resource_uuid
         WHEN m.resource_id IS NOT NULL THEN 'platform:' || m.resource_id END AS "ResourceId",
    CASE WHEN m.kind IN ('kubernetes_cluster', 'database') THEN nullif(l.group_description, '')
         WHEN m.kind IN ('droplet', 'volume', 'load_balancer') THEN split_part(l.description, ' (', 1) END
        AS "ResourceName",
    CASE WHEN m.kind NOT IN ('tax', 'spaces', 'other') THEN m.kind END AS "ResourceType",
    NULL AS "RegionId",
    nullif(l.project_name, '') AS "SubAccountId", nullif(l.project_name, '') AS "SubAccountName",
    CASE WHEN m.deployment_id IS NOT NULL THEN json_object('tenant_id', m.tenant_id, 'deployment_id', m.deployment_id)
        END AS "Tags",
    l.invoice_uuid AS "x_InvoiceUuid", l.line_number AS "x_LineNumber", nullif(l.group_description, '')
        AS "x_GroupDescription", nullif(l.project_name, '') AS "x_ProjectName", nullif(l.category, '') AS "x_Category",
    m.tenant_id AS "x_TenantId", m.deployment_id AS "x_DeploymentId", m.match_method AS "x_MatchMethod",
    '1.2+1.3-providers' AS "x_FocusVersion"
FROM ingest.do_cost_lines l
JOIN cogs.cost_line_matches m USING (invoice_uuid, line_number)
WHERE l.period_start >= $window_start AND l.period_start < $window_end
ORDER BY l.period_start, l.invoice_uuid, l.line_number
