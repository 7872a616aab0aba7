"""Everything the running-month estimate contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.revenue.estimates import assets
from billing_assets.settings import schedule_status
from billing_assets.warehouse.resource import warehouse_from_environment

# Half past the hour: after the hourly DigitalOcean balance (:07), so the live margin uses this hour's.
month_to_date_schedule = dg.ScheduleDefinition(
    name="month_to_date_hourly_schedule", job=assets.month_to_date_hourly, cron_schedule="37 * * * *",
    execution_timezone="UTC", default_status=schedule_status())


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    return dg.Definitions(
        assets=[assets.month_to_date_estimate], jobs=[assets.month_to_date_hourly],
        schedules=[month_to_date_schedule],
        resources=bind_resources(resources, warehouse=warehouse_from_environment),
    )
