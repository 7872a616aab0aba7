"""Everything the revenue area contributes to the code location."""

import dagster as dg

from billing_assets.revenue import credit_assets, invoice_assets, metering, money_assets, snapshot
from billing_assets.settings import schedule_status

stripe_sync_schedule = dg.ScheduleDefinition(
    name="stripe_sync_daily_schedule", job=money_assets.stripe_sync, cron_schedule="17 4 * * *",
    execution_timezone="UTC", default_status=schedule_status())

defs = dg.Definitions(
    assets=[snapshot.source_snapshot, snapshot.source_usage_events, metering.metered_usage,
            invoice_assets.tenant_invoices, credit_assets.credit_ledger, money_assets.stripe_invoices,
            money_assets.stripe_payments, money_assets.ledger_entries],
    jobs=[invoice_assets.issue_invoices, invoice_assets.preview_invoice, money_assets.reverse_usage_event,
          money_assets.reverse_payment, money_assets.stripe_sync],
    schedules=[stripe_sync_schedule],
)
