"""The one Definitions object of the billing_assets code location.

Each area (source, ingest, cogs, revenue, books, margin, reports) builds its own Definitions, bound to its own
resources; this module only merges them and applies the cross-cutting policy once: the month-close
job and its schedule, freshness checks, code references, and the in-process executor for every job:
every step that writes is in the `duckdb` pool (limit 1), so steps run one at a time anyway, and a
process per step cost ~2.5 s each (80 of 105 s of a 1,000-tenant month close).
"""

from __future__ import annotations

import atexit
import gc
from collections.abc import Mapping

import dagster as dg

from billing_assets.books import definitions as books
from billing_assets.cogs import definitions as cogs
from billing_assets.ingest import definitions as ingest
from billing_assets.jobs import freshness_checks, freshness_sensor, month_close, month_close_schedule
from billing_assets.margin import definitions as margin
from billing_assets.reports import definitions as reports
from billing_assets.revenue import definitions as revenue
from billing_assets.source import definitions as source

AREAS = (source, ingest, cogs, revenue, books, margin, reports)


def build_definitions(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    """The code location; tests pass their own resources (temporary files, local servers), which
    replace the environment's in every area."""
    merged = dg.Definitions.merge(
        *(area.build(resources) for area in AREAS),
        dg.Definitions(
            jobs=[month_close],
            schedules=[month_close_schedule],
            sensors=[freshness_sensor],
            asset_checks=freshness_checks,
            executor=dg.in_process_executor,
        ),
    )
    return _with_code_references(merged)


def _with_code_references(defs: dg.Definitions) -> dg.Definitions:
    """Every asset links to the file and line that defines it (shown on its page in the UI)."""
    return dg.Definitions.merge(
        dg.Definitions(assets=dg.with_source_code_references(list(defs.assets or []))),
        dg.Definitions(asset_checks=defs.asset_checks, jobs=defs.jobs, schedules=defs.schedules,
                       sensors=defs.sensors, resources=defs.resources, executor=defs.executor),
    )


defs = build_definitions()

# The code location's objects (about 250,000, Dagster's and ours) live as long as the process. Frozen, they
# are left out of the collector's full passes, each of which re-walked them all (~0.2 s, several per month
# close; README "Performance"). Thawed at exit, so the interpreter's last collection still frees them
# (native extensions report what it leaves behind as leaks).
gc.freeze()
atexit.register(gc.unfreeze)
