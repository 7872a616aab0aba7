"""Everything the ingest area contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.ingest import assets, automation
from billing_assets.ingest.resources import digitalocean_from_environment
from billing_assets.warehouse.resource import warehouse_from_environment


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The area's definitions; `resources` replaces the environment's (tests pass local servers)."""
    return dg.Definitions(
        assets=[assets.do_balance_snapshots, assets.do_billing_history, assets.do_resources, assets.do_invoices,
                assets.do_cost_lines],
        jobs=[automation.do_balance_hourly, automation.do_ingest_daily, automation.do_invoice_refresh],
        schedules=[automation.do_balance_schedule, automation.do_ingest_schedule],
        sensors=[automation.do_invoice_sensor],
        resources=bind_resources(resources, warehouse=warehouse_from_environment, digitalocean=digitalocean_from_environment),
    )
