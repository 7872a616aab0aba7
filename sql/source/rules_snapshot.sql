-- Rules of meaning over the typed source tables (typed_<table>, from billing_assets/source/validation.py),
-- one row per refused value: (table_name, primary_key, column_name, value, reason).
-- Fractional prices are decimal strings of minor units: exact, finite, >= 0.
SELECT 'plan_version_charges', _pk, 'unit_amount_decimal', unit_amount_decimal,
       'not an exact non-negative decimal (like 1 or 0.002)'
FROM typed_plan_version_charges
WHERE unit_amount_decimal IS NOT NULL AND NOT regexp_full_match(trim(unit_amount_decimal), '\d{1,12}(\.\d{1,12})?')
UNION ALL
SELECT 'plan_version_charge_tiers', _pk, 'unit_amount_decimal', unit_amount_decimal,
       'not an exact non-negative decimal (like 1 or 0.002)'
FROM typed_plan_version_charge_tiers
WHERE NOT regexp_full_match(trim(unit_amount_decimal), '\d{1,12}(\.\d{1,12})?')
UNION ALL
SELECT 'plan_version_charges', _pk, 'charge_model', charge_model, 'unknown charge model'
FROM typed_plan_version_charges WHERE charge_model NOT IN ('per_unit', 'graduated', 'volume', 'package')
UNION ALL
SELECT 'plan_version_charges', _pk, 'unit_amount_decimal', unit_amount_decimal, 'a per_unit charge needs a unit price'
FROM typed_plan_version_charges WHERE charge_model = 'per_unit' AND unit_amount_decimal IS NULL
UNION ALL
SELECT 'plan_version_charges', _pk, 'package_size', CAST(package_size AS VARCHAR),
       'a package charge needs package_size > 0 and package_amount_minor >= 0'
FROM typed_plan_version_charges
WHERE charge_model = 'package' AND (coalesce(package_size, 0) <= 0 OR coalesce(package_amount_minor, -1) < 0)
UNION ALL
SELECT 'plan_version_charges', _pk, 'included_quantity', CAST(included_quantity AS VARCHAR), 'negative'
FROM typed_plan_version_charges WHERE included_quantity < 0
UNION ALL
SELECT 'plan_version_charges', c._pk, 'charge_model', c.charge_model, c.charge_model || ' needs tiers'
FROM typed_plan_version_charges c
WHERE c.charge_model IN ('graduated', 'volume')
  AND NOT EXISTS (SELECT 1 FROM typed_plan_version_charge_tiers t
                  WHERE t.plan_version_id = c.plan_version_id AND t.metric = c.metric)
UNION ALL
-- Tiers: ascending bounds, exactly one unbounded tier, and it is the last.
SELECT 'plan_version_charges', plan_version_id || '/' || metric, 'tiers', string_agg(coalesce(CAST(up_to AS VARCHAR), '∞'), ', ' ORDER BY tier_index),
       'tiers must ascend with exactly one unbounded last tier'
FROM typed_plan_version_charge_tiers
GROUP BY plan_version_id, metric
HAVING count(*) FILTER (WHERE up_to IS NULL) <> 1
    OR arg_max(up_to IS NULL, tier_index) IS NOT TRUE
    OR list_sort(list(up_to ORDER BY tier_index) FILTER (WHERE up_to IS NOT NULL))
       <> list(up_to ORDER BY tier_index) FILTER (WHERE up_to IS NOT NULL)
    OR count(DISTINCT up_to) <> count(up_to)
UNION ALL
SELECT 'plan_versions', _pk, 'currency', currency, 'unknown currency'
FROM typed_plan_versions WHERE currency NOT IN (SELECT currency FROM known_currencies)
UNION ALL
SELECT 'plan_versions', _pk, 'base_fee_minor', CAST(base_fee_minor AS VARCHAR), 'negative or implausibly large'
FROM typed_plan_versions WHERE base_fee_minor < 0 OR base_fee_minor > (SELECT max_price_minor FROM limits)
UNION ALL
SELECT 'plan_versions', _pk, 'minimum_commitment_minor', CAST(minimum_commitment_minor AS VARCHAR), 'negative'
FROM typed_plan_versions WHERE minimum_commitment_minor < 0
UNION ALL
SELECT 'tenants', _pk, 'currency', currency, 'unknown currency'
FROM typed_tenants WHERE currency NOT IN (SELECT currency FROM known_currencies)
UNION ALL
SELECT 'tenants', _pk, 'tax_jurisdiction', tax_jurisdiction, 'no tax rule for this jurisdiction'
FROM typed_tenants WHERE tax_jurisdiction NOT IN (SELECT jurisdiction FROM known_jurisdictions)
UNION ALL
SELECT 'tenant_budgets', b._pk, 'amount_minor', CAST(b.amount_minor AS VARCHAR), 'a budget must be > 0'
FROM typed_tenant_budgets b WHERE b.amount_minor <= 0
UNION ALL
SELECT 'tenant_budgets', b._pk, 'currency', b.currency, 'not the tenant''s currency (' || t.currency || ')'
FROM typed_tenant_budgets b JOIN typed_tenants t USING (tenant_id) WHERE b.currency <> t.currency
UNION ALL
SELECT 'tenant_budgets', b._pk, 'tenant_id', b.tenant_id, 'no such tenant'
FROM typed_tenant_budgets b ANTI JOIN typed_tenants t USING (tenant_id)
UNION ALL
SELECT 'subscriptions', _pk, 'canceled_at', CAST(canceled_at AS VARCHAR), 'canceled before it started'
FROM typed_subscriptions WHERE canceled_at < started_at
UNION ALL
SELECT 'subscriptions', _pk, 'trial_ends_at', CAST(trial_ends_at AS VARCHAR), 'trial ends before the subscription starts'
FROM typed_subscriptions WHERE trial_ends_at < started_at
UNION ALL
SELECT 'subscription_phases', _pk, 'effective_to', CAST(effective_to AS VARCHAR), 'phase ends before it starts'
FROM typed_subscription_phases WHERE effective_to <= effective_from
-- A subscription's phases price every second of its billable time on exactly one plan version (the
-- engine refuses anything else, and would stop the whole month for it): a subscription has phases;
-- each phase starts where the one before it ends (no gap, no overlap, only the last open-ended); the
-- first starts by the subscription's billable start (its trial's end); the last, if it ends, ends no
-- earlier than the subscription.
UNION ALL
SELECT 'subscriptions', s._pk, 'subscription_id', s.subscription_id, 'has no plan phases'
FROM typed_subscriptions s ANTI JOIN typed_subscription_phases p USING (subscription_id)
UNION ALL
SELECT 'subscription_phases', _pk, 'effective_from', CAST(effective_from AS VARCHAR),
       CASE WHEN previous_to IS NULL THEN 'starts while the phase before it is open-ended (an overlap)'
            WHEN effective_from > previous_to THEN 'leaves a gap after the phase before it, which ends ' || previous_to
            ELSE 'overlaps the phase before it, which ends ' || previous_to END
FROM (SELECT *, lag(effective_to) OVER w AS previous_to, row_number() OVER w AS n FROM typed_subscription_phases
      WHERE effective_from IS NOT NULL WINDOW w AS (PARTITION BY subscription_id ORDER BY effective_from))
WHERE n > 1 AND previous_to IS DISTINCT FROM effective_from
UNION ALL
SELECT 'subscription_phases', p._pk, 'effective_from', CAST(p.effective_from AS VARCHAR),
       'the first phase starts after the subscription''s billable start, '
       || greatest(s.started_at, coalesce(s.trial_ends_at, s.started_at))
FROM (SELECT * FROM typed_subscription_phases WHERE effective_from IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY subscription_id ORDER BY effective_from) = 1) p
JOIN typed_subscriptions s USING (subscription_id)
WHERE p.effective_from > greatest(s.started_at, coalesce(s.trial_ends_at, s.started_at))
UNION ALL
SELECT 'subscription_phases', p._pk, 'effective_to', CAST(p.effective_to AS VARCHAR),
       'the last phase ends before the subscription does, ' || coalesce(CAST(s.canceled_at AS VARCHAR), 'never')
FROM (SELECT * FROM typed_subscription_phases WHERE effective_from IS NOT NULL
      QUALIFY row_number() OVER (PARTITION BY subscription_id ORDER BY effective_from DESC) = 1) p
JOIN typed_subscriptions s USING (subscription_id)
WHERE p.effective_to < coalesce(s.canceled_at, TIMESTAMP '9999-12-31')
UNION ALL
SELECT 'subscription_add_ons', _pk, 'quantity', CAST(quantity AS VARCHAR), 'an add-on quantity must be > 0'
FROM typed_subscription_add_ons WHERE quantity <= 0
UNION ALL
SELECT 'subscription_add_ons', _pk, 'unit_price_minor', CAST(unit_price_minor AS VARCHAR), 'negative or implausibly large'
FROM typed_subscription_add_ons WHERE unit_price_minor < 0 OR unit_price_minor > (SELECT max_price_minor FROM limits)
UNION ALL
SELECT 'subscription_add_ons', _pk, 'detached_at', CAST(detached_at AS VARCHAR), 'detached before it was attached'
FROM typed_subscription_add_ons WHERE detached_at < attached_at
UNION ALL
SELECT 'credit_grants', _pk, 'expires_at', CAST(expires_at AS VARCHAR), 'expires before it takes effect'
FROM typed_credit_grants WHERE expires_at <= effective_from
UNION ALL
SELECT 'credit_grants', _pk, 'amount_minor', CAST(amount_minor AS VARCHAR), 'a grant must be > 0'
FROM typed_credit_grants WHERE amount_minor <= 0
UNION ALL
SELECT 'credit_grants', _pk, 'currency', currency, 'unknown currency'
FROM typed_credit_grants WHERE currency NOT IN (SELECT currency FROM known_currencies)
UNION ALL
SELECT 'cloud_resources', _pk, 'deleted_at', CAST(deleted_at AS VARCHAR), 'deleted before it was created'
FROM typed_cloud_resources WHERE deleted_at < created_at
