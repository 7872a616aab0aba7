"""What every warehouse-writing asset shares: the pool, the backfill policy, the window, refusals."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import dagster as dg

from billing_assets.partitions import monthly_partitions
from billing_assets.periods import parse_month
from billing_assets.warehouse import window_params
from billing_assets.warehouse.dictionary import column_descriptions

DUCKDB_POOL = "duckdb"

# Keyword arguments for every monthly asset that writes the warehouse.
MONTHLY = {
    "partitions_def": monthly_partitions,
    "backfill_policy": dg.BackfillPolicy.single_run(),
    "pool": DUCKDB_POOL,
}

# Tags of the one-off jobs (issue, preview, reversals): whatever the instance's run_retries says, a run
# whose step failed is not retried; a refused request never heals by itself. A dead worker still is.
ONE_OFF_JOB_TAGS = {"dagster/retry_on_asset_or_op_failure": "false"}


def refuse(message: str) -> dg.Failure:
    """A refused request: one line naming the field (`period: ...`), never retried."""
    return dg.Failure(message, allow_retries=False)


def month_window(context: dg.AssetExecutionContext) -> tuple[datetime, datetime]:
    """The partition window (one month or a single-run backfill range), as naive UTC bounds."""
    window = context.partition_time_window
    params = window_params(window.start, window.end)
    return params["window_start"], params["window_end"]


def month_bounds(key: str) -> tuple[datetime, datetime]:
    """A month's naive UTC bounds `[start, end)` from its partition key (`YYYY-MM-01`) or `YYYY-MM`."""
    month = parse_month(key)
    return month.start.replace(tzinfo=None), month.end.replace(tzinfo=None)


def window_label(start: datetime, end: datetime) -> str:
    months = (end.year - start.year) * 12 + end.month - start.month
    return f"{start:%Y-%m}" if months == 1 else f"{start:%Y-%m}..{end:%Y-%m} ({months} months, end exclusive)"


def table_schema(conn, table: str) -> dg.TableSchema:
    """The column schema shown on the asset's page: the columns the warehouse has, described by the
    data dictionary (docs/data-dictionary.md, the one source for both)."""
    schema, name = table.split(".")
    rows = conn.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position", [schema, name]).fetchall()
    meanings = column_descriptions(table)
    return dg.TableSchema(columns=[dg.TableColumn(name=c, type=t, description=meanings.get(c)) for c, t in rows])


def md_table(rows: list[tuple], headers: tuple[str, ...], limit: int = 60) -> str:
    """Findings as a markdown table for check metadata (at most `limit` rows, then a count)."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join("" if c is None else str(c) for c in row) + " |" for row in rows[:limit]]
    if len(rows) > limit:
        out.append(f"| … {len(rows) - limit} more |" + " |" * (len(headers) - 1))
    return "\n".join(out)


def md_bullets(rows: list[str], limit: int = 60) -> str:
    """Findings as a markdown list (at most `limit`, then a count); "none" when empty."""
    if not rows:
        return "none"
    more = [f"… {len(rows) - limit} more"] if len(rows) > limit else []
    return "\n".join(f"- {r}" for r in [*rows[:limit], *more])


def bind_resources(given: Mapping[str, dg.ConfigurableResource] | None,
                   **from_environment: Callable[[], dg.ConfigurableResource | dg.ResourceDefinition]
                   ) -> dict[str, dg.ConfigurableResource | dg.ResourceDefinition]:
    """An area's resources: each one given (tests pass temporary files and local servers), else built
    from the environment. Areas share a key only through the same object (Definitions.merge insists)."""
    given = given or {}
    return {key: given.get(key) or build() for key, build in from_environment.items()}


def results_by_month(context: dg.AssetExecutionContext, common: Mapping[str, Mapping[str, object]],
                     by_month: Mapping[str, Mapping[str, Mapping[str, object]]]):
    """One MaterializeResult per asset in `common` (asset -> metadata), each month's own metadata
    (partition key -> asset -> metadata) on that month's partition. A single-run backfill of a range
    records the range's one result on every month in it, so there the result carries only what is
    common and each month then gets its own materialization, logged after it (the latest one a month's
    page shows). A one-month run yields one result with both."""
    keys = context.partition_keys
    if len(keys) == 1:
        for asset, metadata in common.items():
            yield dg.MaterializeResult(asset_key=asset, metadata={**metadata, **by_month[keys[0]][asset]})
        return
    for asset, metadata in common.items():
        yield dg.MaterializeResult(asset_key=asset, metadata={
            **metadata, "window": window_label(*month_window(context)),
            "per_month": "each month's own materialization, logged after this one, has its figures"})
    for key in keys:
        for asset in common:
            context.log_event(dg.AssetMaterialization(asset_key=asset, partition=key, metadata={
                **common[asset], **by_month[key][asset]}))


def monthly_results(context: dg.AssetExecutionContext, common: Mapping[str, object],
                    month_metadata: Callable[[datetime, datetime], Mapping[str, object]]):
    """results_by_month for a single-asset step: `month_metadata(start, end)` (naive UTC bounds) is
    computed for each month of the run's window, so every partition shows its own figures. Consume it
    as it yields (`yield from`), never into a list first: the range's one result must be recorded
    before the months' own materializations."""
    asset = context.asset_key.to_user_string()
    by_month = {key: {asset: month_metadata(*month_bounds(key))} for key in context.partition_keys}
    yield from results_by_month(context, {asset: common}, by_month)
