"""Everything payments contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.revenue.payments import aging_assets, assets, reversals
from billing_assets.revenue.payments.resources import stripe_from_environment
from billing_assets.settings import schedule_status
from billing_assets.warehouse.resource import warehouse_from_environment

collections_schedule = dg.ScheduleDefinition(  # Stripe's day read, then aging and dunning on it
    name="collections_daily_schedule", job=aging_assets.collections_daily, cron_schedule="17 4 * * *",
    execution_timezone="UTC", default_status=schedule_status())
stripe_reconcile_schedule = dg.ScheduleDefinition(
    name="stripe_weekly_reconcile_schedule", job=assets.stripe_weekly_reconcile, cron_schedule="47 4 * * 1",
    execution_timezone="UTC", default_status=schedule_status())


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[assets.stripe_invoices, assets.stripe_payments, assets.stripe_full_reconcile, assets.ledger_entries,
                aging_assets.receivables_aging],
        jobs=[reversals.reverse_usage_event, reversals.reverse_payment, assets.stripe_sync,
              assets.stripe_weekly_reconcile, aging_assets.collections_daily],
        schedules=[collections_schedule, stripe_reconcile_schedule],
        resources=bind_resources(resources, warehouse=warehouse_from_environment, stripe=stripe_from_environment),
    )
