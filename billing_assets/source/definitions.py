"""Everything the source area contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.settings import schedule_status
from billing_assets.source import assets
from billing_assets.source.resources import source_from_environment
from billing_assets.warehouse.resource import warehouse_from_environment

usage_full_refresh = dg.define_asset_job(
    "usage_full_refresh_weekly", selection=["source_usage_events"],
    config={"ops": {"source_usage_events": {"config": {"full_refresh": True}}}},
    description="Read every usage event again (the month close and the hourly estimate read only those received "
                "since a cut-off) and confirm what the incremental reads had kept (check incremental_reads_confirmed).")
usage_full_refresh_schedule = dg.ScheduleDefinition(  # Sunday early: done long before a 1st's 03:00 month close
    name="usage_full_refresh_weekly_schedule", job=usage_full_refresh, cron_schedule="53 1 * * 0",
    execution_timezone="UTC", default_status=schedule_status())


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The area's definitions; `resources` replaces the environment's (tests pass temporary files)."""
    return dg.Definitions(
        assets=[assets.source_snapshot, assets.source_usage_events],
        jobs=[usage_full_refresh],
        schedules=[usage_full_refresh_schedule],
        resources=bind_resources(resources, warehouse=warehouse_from_environment, source_db=source_from_environment),
    )
