"""Everything the reports area contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.reports import assets
from billing_assets.warehouse.resource import warehouse_from_environment


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    return dg.Definitions(assets=[assets.analyst_exports, assets.finance_dashboard, assets.close_pack],
                          resources=bind_resources(resources, warehouse=warehouse_from_environment))
