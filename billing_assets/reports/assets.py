"""The reports group: analyst exports, the offline dashboard and the close pack, per month.

They read the analysts' copy (exports/warehouse.duckdb, written by analyst_warehouse at the end of
every run) read-only: no report holds the pipeline's DuckDB file, so none is in the `duckdb` pool.
"""

import base64
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import duckdb
from dagster_shared.check import CheckError

from billing_assets.assets_common import month_bounds, monthly_results
from billing_assets.margin.analyst_copy import ANALYST_COPY
from billing_assets.partitions import monthly_partitions
from billing_assets.periods import naive
from billing_assets.reports.close_pack import write_close_pack
from billing_assets.reports.dashboard import write_dashboard
from billing_assets.reports.exports import write_analyst_exports
from billing_assets.sql_files import read_sql
from billing_assets.warehouse.resource import WarehouseResource

COMMON = {"group_name": "reports", "owners": ["team:finance"], "partitions_def": monthly_partitions,
          "backfill_policy": dg.BackfillPolicy.single_run(), "deps": ["analyst_warehouse"]}
# The exports are files, one per table: their page lists them (each table's columns are the marts view's).
FILES_SCHEMA = dg.TableSchema(columns=[dg.TableColumn("file", "VARCHAR", description="<table>_<YYYY-MM or all>.parquet"),
                                       dg.TableColumn("rows", "BIGINT")])
ALL_MONTHS = (naive(datetime(1900, 1, 1, tzinfo=UTC)), naive(datetime(2200, 1, 1, tzinfo=UTC)))


@contextmanager
def analyst_copy(warehouse: WarehouseResource) -> Iterator[duckdb.DuckDBPyConnection]:
    path = Path(warehouse.exports_dir) / ANALYST_COPY
    if not path.exists():
        raise dg.Failure(f"{path} does not exist: materialize analyst_warehouse first", allow_retries=False)
    with duckdb.connect(str(path), read_only=True) as conn:
        yield conn


def _months(context: dg.AssetExecutionContext) -> list[str]:
    return [key[:7] for key in context.partition_keys]


@dg.asset(**COMMON, kinds={"parquet", "csv"})
def analyst_exports(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Every mart and the invoices, invoice lines, deployment costs and reconciliation as Parquet and
    CSV, per month (`<table>_YYYY-MM`) and for all months (`<table>_all`), in exports/marts: decimal
    amounts beside the minor units, ISO dates, slugs beside ids, sorted rows."""
    folder = Path(warehouse.exports_dir) / "marts"
    with analyst_copy(warehouse) as conn:
        written = write_analyst_exports(conn, folder, [(m, *month_bounds(m)) for m in _months(context)], *ALL_MONTHS)

    def listing(files: list[tuple[Path, int]]) -> dg.MetadataValue:
        return dg.MetadataValue.md("\n".join(f"- `{path.name}`: {rows:,} rows" for path, rows in files
                                              if path.suffix == ".parquet"))

    def month_metadata(start: datetime, _end: datetime) -> dict[str, object]:
        files = written[f"{start:%Y-%m}"]
        return {"dagster/row_count": sum(rows for path, rows in files if path.suffix == ".parquet"),
                "files": listing(files)}

    yield from monthly_results(context, {"folder": dg.MetadataValue.path(str(folder)),
                                         "dagster/column_schema": FILES_SCHEMA,
                                         "all_months": listing(written["all"])}, month_metadata)


@dg.asset(**COMMON, kinds={"html"})
def finance_dashboard(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """A self-contained HTML page per month (exports/dashboard/dashboard_YYYY-MM.html) and an index:
    revenue, cost and margin over time, margin by deployment and by resource kind, top and bottom
    deployments, unallocated cost by cause, and a tenant -> deployment -> kind drill-down. Opens
    offline: Vega's JavaScript is inlined."""
    folder = Path(warehouse.exports_dir) / "dashboard"
    with analyst_copy(warehouse) as conn:
        all_months = [m for (m,) in conn.execute("SELECT strftime(period_start, '%Y-%m') FROM marts.monthly_pnl "
                                                 "ORDER BY 1").fetchall()]
        pages = write_dashboard(conn, folder, [m for m in _months(context) if m in all_months], all_months,
                                context.run.run_id)

    def month_metadata(start: datetime, _end: datetime) -> dict[str, object]:
        month = f"{start:%Y-%m}"
        if month not in pages:
            return {"dagster/row_count": 0, "dashboard": "no margin for this month yet"}
        page, image, bars = pages[month]
        preview = base64.b64encode(image.read_bytes()).decode()
        return {"dagster/row_count": bars, "dashboard": dg.MetadataValue.url(page.as_uri()),
                "dashboard_file": dg.MetadataValue.path(str(page)),
                "preview_image": dg.MetadataValue.path(str(image)),
                "preview": dg.MetadataValue.md(f"![margin by deployment, {month}](data:image/png;base64,{preview})")}

    yield from monthly_results(context, {"index": dg.MetadataValue.url((folder / "index.html").as_uri())},
                               month_metadata)


def check_statuses(context: dg.AssetExecutionContext) -> list[tuple[str, str]]:
    """Every asset check of the code location and its latest result, for the close pack's cover."""
    try:  # a run of the code location knows every check; a test's materialize() only its job's
        graph = context.repository_def.asset_graph
    except CheckError:
        graph = context.job_def.asset_layer.asset_graph
    keys = sorted(graph.asset_check_keys, key=lambda k: k.to_user_string())
    latest = context.instance.event_log_storage.get_latest_asset_check_execution_by_key(keys)
    statuses = []
    for key in keys:
        record = latest.get(key)
        evaluation = record.event.asset_check_evaluation if record and record.event else None
        if evaluation is None:
            status = "not run" if record is None else record.status.value.lower()
        elif evaluation.passed:
            status = "passed"
        else:
            status = f"FAILED ({evaluation.severity.value})"
        statuses.append((key.to_user_string(), status))
    return statuses


@dg.asset(**COMMON, kinds={"excel"})
def close_pack(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """The month's close pack for finance (exports/close_pack/close_pack_YYYY-MM.xlsx): cover (month,
    run, data cut-off, every check's latest result), summary P&L, tenant margin, deployment margin by
    kind, invoices, invoice lines, cost lines with their match, reconciliation; totals tie to the summary."""
    folder = Path(warehouse.exports_dir) / "close_pack"
    checks = check_statuses(context)
    failed = [name for name, status in checks if status.startswith("FAILED")]
    written = {}
    with analyst_copy(warehouse) as conn:
        for month in _months(context):
            cut_off = conn.execute(read_sql("reports/close_pack_cut_off.sql"), {"month_start": f"{month}-01"}).fetchone()
            labels = ("Source snapshot taken at", "DigitalOcean documents fetched at", "Invoices computed at")
            path = folder / f"close_pack_{month}.xlsx"
            rows = write_close_pack(path, conn, month, context.run.run_id,
                                    [(label, value or "not yet") for label, value in zip(labels, cut_off, strict=True)],
                                    checks)
            written[month] = (path, rows)

    def month_metadata(start: datetime, _end: datetime) -> dict[str, object]:
        path, rows = written[f"{start:%Y-%m}"]
        return {"dagster/row_count": rows, "workbook": dg.MetadataValue.path(str(path)),
                "bytes": path.stat().st_size}

    yield from monthly_results(context, {"checks_failed_at_pack_time": ", ".join(failed) or "none"}, month_metadata)
