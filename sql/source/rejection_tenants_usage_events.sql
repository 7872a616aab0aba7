-- The tenant a refused usage event affects: its deployment's tenant.
SELECT 'usage_events' AS table_name, e._pk AS primary_key, d.tenant_id
FROM typed_usage_events e JOIN staging.deployments d USING (deployment_id)
