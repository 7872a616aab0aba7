-- The tenant each refused row of the small tables affects (table_name, primary_key, tenant_id): a
-- catalogue row affects every tenant subscribed to that plan version (or add-on). A refused budget
-- (tenant_budgets) affects no tenant's invoice: it is listed, and that tenant's alerts fall back to
-- the previous month's total, but the tenant is still invoiced.
WITH subs AS (
    SELECT s.subscription_id, s.deployment_id, d.tenant_id
    FROM typed_subscriptions s JOIN typed_deployments d USING (deployment_id)
), on_version AS (
    SELECT DISTINCT p.plan_version_id, s.tenant_id FROM typed_subscription_phases p JOIN subs s USING (subscription_id)
)
SELECT 'tenants' AS table_name, _pk AS primary_key, tenant_id FROM typed_tenants
UNION ALL SELECT 'deployments', _pk, tenant_id FROM typed_deployments
UNION ALL SELECT 'subscriptions', s._pk, d.tenant_id FROM typed_subscriptions s JOIN typed_deployments d USING (deployment_id)
UNION ALL SELECT 'subscription_phases', p._pk, s.tenant_id FROM typed_subscription_phases p JOIN subs s USING (subscription_id)
UNION ALL SELECT 'subscription_add_ons', a._pk, s.tenant_id FROM typed_subscription_add_ons a JOIN subs s USING (subscription_id)
UNION ALL SELECT 'credit_grants', _pk, tenant_id FROM typed_credit_grants
UNION ALL SELECT 'cloud_resources', r._pk, d.tenant_id FROM typed_cloud_resources r JOIN typed_deployments d USING (deployment_id)
UNION ALL SELECT 'plan_versions', v._pk, o.tenant_id FROM typed_plan_versions v JOIN on_version o USING (plan_version_id)
UNION ALL SELECT 'plan_version_charges', c._pk, o.tenant_id FROM typed_plan_version_charges c JOIN on_version o USING (plan_version_id)
UNION ALL SELECT 'plan_version_charge_tiers', t._pk, o.tenant_id FROM typed_plan_version_charge_tiers t JOIN on_version o USING (plan_version_id)
UNION ALL SELECT 'plans', p._pk, o.tenant_id FROM typed_plans p JOIN typed_plan_versions v USING (plan_id) JOIN on_version o USING (plan_version_id)
UNION ALL SELECT 'add_ons', a._pk, s.tenant_id FROM typed_add_ons a JOIN typed_subscription_add_ons sa USING (add_on_id)
          JOIN subs s USING (subscription_id)
