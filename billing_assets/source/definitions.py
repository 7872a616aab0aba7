"""Everything the source area contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.source import assets
from billing_assets.source.resources import source_from_environment
from billing_assets.warehouse.resource import warehouse_from_environment


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The area's definitions; `resources` replaces the environment's (tests pass temporary files)."""
    return dg.Definitions(
        assets=[assets.source_snapshot, assets.source_usage_events],
        resources=bind_resources(resources, warehouse=warehouse_from_environment, source_db=source_from_environment),
    )
