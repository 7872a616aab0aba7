"""Ingest jobs, schedules and the sensor that notices a new or changed DigitalOcean invoice."""

import json

import dagster as dg

from billing_assets.ingest.client import DigitalOceanError
from billing_assets.ingest.parse import ParseError, parse_invoice_list
from billing_assets.ingest.resources import DigitalOceanResource
from billing_assets.partitions import monthly_partitions
from billing_assets.secrets import SecretError
from billing_assets.settings import schedule_status, sensor_status

do_balance_hourly = dg.define_asset_job(
    "do_balance_hourly", selection=["do_balance_snapshots"],
    description="Append a DigitalOcean balance snapshot.")
do_ingest_daily = dg.define_asset_job(
    "do_ingest_daily", selection=["do_billing_history", "do_resources"],
    description="Refresh the DigitalOcean billing history and resource inventory.")
do_invoice_refresh = dg.define_asset_job(
    "do_invoice_refresh", selection=dg.AssetSelection.assets("do_invoices").downstream(),
    description="Re-ingest one month's DigitalOcean invoice and recompute its cost side and margin.")

do_balance_schedule = dg.ScheduleDefinition(
    name="do_balance_hourly_schedule", job=do_balance_hourly, cron_schedule="7 * * * *",
    execution_timezone="UTC", default_status=schedule_status())
do_ingest_schedule = dg.ScheduleDefinition(
    name="do_ingest_daily_schedule", job=do_ingest_daily, cron_schedule="23 2 * * *",
    execution_timezone="UTC", default_status=schedule_status())


def changed_periods(listing: dict[str, int], cursor: dict[str, int], partition_keys: set[str]) -> list[str]:
    """Months whose invoice appeared or whose amount changed since the cursor, that are partitions."""
    return sorted(p for p, amount in listing.items()
                  if cursor.get(p) != amount and f"{p}-01" in partition_keys)


@dg.sensor(job=do_invoice_refresh, minimum_interval_seconds=3600, default_status=sensor_status(),
           description="Requests a month's cost side when DigitalOcean issues or restates its invoice.")
def do_invoice_sensor(context: dg.SensorEvaluationContext, digitalocean: DigitalOceanResource):
    try:
        docs = digitalocean.document_source().invoice_list()
        entries, _ = parse_invoice_list([(d.content, d.uri) for d in docs])
    except (ParseError, SecretError, DigitalOceanError) as exc:
        return dg.SkipReason(f"could not read the invoice list: {exc}")
    listing = {e.period: e.amount_minor for e in entries}
    cursor = json.loads(context.cursor) if context.cursor else {}
    keys = set(monthly_partitions.get_partition_keys())
    periods = changed_periods(listing, cursor, keys)
    if not periods:
        return dg.SkipReason("no new or changed DigitalOcean invoice")
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"{p}:{listing[p]}", partition_key=f"{p}-01") for p in periods],
        cursor=json.dumps(listing, sort_keys=True))
