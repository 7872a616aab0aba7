"""Everything the books area contributes to the code location, bound to its resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.assets_common import bind_resources
from billing_assets.books import assets
from billing_assets.books.resources import finance_from_environment
from billing_assets.warehouse.resource import warehouse_from_environment


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    return dg.Definitions(assets=[assets.books_payables, assets.books_receivables],
                          resources=bind_resources(resources, warehouse=warehouse_from_environment,
                                                   finance=finance_from_environment))
