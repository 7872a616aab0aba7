"""Cross-area jobs, the month-close schedule and the freshness checks of the month's deliverables."""

from datetime import timedelta

import dagster as dg

from billing_assets.settings import schedule_status, sensor_status

# Every asset, for one month or a range: the unpartitioned snapshots refresh first, then the
# monthly assets in dependency order; blocking checks stop whatever depends on what they guard.
# In one process, like every job of the location (definitions.py says why). Not in it: what runs on
# its own clock against today rather than the month (the weekly Stripe listing, the daily aging, the
# hourly estimate of the running month).
NOT_MONTHLY = ["stripe_full_reconcile", "receivables_aging", "month_to_date_estimate"]
month_close = dg.define_asset_job(
    "month_close",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(*NOT_MONTHLY),
    description="Close a month (or a range, as one run): snapshot, ingest, meter, rate, cost, margin. "
                "One process, steps in dependency order.",
    tags={"dagster/max_retries": 1},
)

# On the 1st at 03:00 UTC, for the month just ended (the partitions end at the last closed month).
month_close_schedule = dg.build_schedule_from_partitioned_job(
    month_close, name="month_close_schedule", hour_of_day=3, minute_of_hour=0, day_of_month=1,
    default_status=schedule_status(),
)

# Last month's invoices and margin must exist by 00:00 UTC on the 2nd.
freshness_checks = dg.build_time_partition_freshness_checks(
    assets=["tenant_invoices", "deployment_margin"], deadline_cron="0 0 2 * *", timezone="UTC",
    severity=dg.AssetCheckSeverity.WARN,
)
freshness_sensor = dg.build_sensor_for_freshness_checks(
    freshness_checks=freshness_checks, minimum_interval_seconds=int(timedelta(hours=1).total_seconds()),
    name="month_close_freshness_sensor", default_status=sensor_status(),
)
