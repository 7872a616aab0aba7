"""The one Definitions object of the billing_assets code location.

Each area (ingest, cogs, revenue, margin) exposes its own Definitions; this module only merges
them and applies the cross-cutting policy once: resources from the environment, and an executor
that runs one step at a time (every step that writes is in the `duckdb` pool anyway).
"""

import dagster as dg

from billing_assets.cogs import definitions as cogs
from billing_assets.ingest import definitions as ingest
from billing_assets.jobs import month_close
from billing_assets.margin import definitions as margin
from billing_assets.resources import build_resources
from billing_assets.revenue import definitions as revenue

AREAS = (ingest.defs, cogs.defs, revenue.defs, margin.defs)


def build_definitions(resources: dict | None = None) -> dg.Definitions:
    """The code location; tests pass their own resources (temporary files, local servers)."""
    return dg.Definitions.merge(
        *AREAS,
        dg.Definitions(
            jobs=[month_close],
            resources=resources if resources is not None else build_resources(),
            executor=dg.multiprocess_executor.configured({"max_concurrent": 1}),
        ),
    )


defs = build_definitions()
