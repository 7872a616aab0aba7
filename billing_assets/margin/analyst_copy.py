"""The analysts' copy of the warehouse: a file they may hold open for hours without blocking anything.

DuckDB lets one process hold a file read-write, and any other connection to it, read-only ones
included, blocks that writer. So analysts never open the pipeline's file: after each run this asset
checkpoints the warehouse and swaps a fresh copy into exports/warehouse.duckdb (written under a
temporary name, then renamed, so a reader sees the old copy or the new one, never half a file).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import duckdb

from billing_assets.assets_common import DUCKDB_POOL
from billing_assets.exports import atomic_path
from billing_assets.warehouse import transaction
from billing_assets.warehouse.dictionary import comment_statements
from billing_assets.warehouse.resource import WarehouseResource

ANALYST_COPY = "warehouse.duckdb"


def publish_copy(warehouse: WarehouseResource) -> Path:
    target = Path(warehouse.exports_dir) / ANALYST_COPY
    target.parent.mkdir(parents=True, exist_ok=True)
    with warehouse.connect() as conn:  # in pool `duckdb`: no writer is running now
        with transaction(conn):  # views are re-created by migrations, dropping their comments: renew them all
            for statement in comment_statements(conn):
                conn.execute(statement)
        conn.execute("CHECKPOINT")
    with atomic_path(target) as tmp:
        shutil.copyfile(warehouse.path, tmp)
    return target


@dg.asset(group_name="margin", kinds={"duckdb"}, owners=["team:finance"], pool=DUCKDB_POOL,
          deps=["reconciliation_report", "deployment_margin", "tenant_margin", "monthly_pnl", "credit_ledger",
                "ledger_entries", "focus_cost_rows", "month_to_date_estimate"])  # after it in the hourly job
def analyst_warehouse(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """A read-only copy of the whole warehouse for analysts and notebooks (exports/warehouse.duckdb),
    refreshed at the end of every run, so an open notebook never blocks the month close."""
    target = publish_copy(warehouse)
    with duckdb.connect(str(target), read_only=True) as conn:
        catalogue = conn.execute("SELECT schema_name, table_name, estimated_size FROM duckdb_tables() "
                                 "ORDER BY 1, 2").fetchall()
        views = conn.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'marts'").fetchone()[0]
    schema = dg.TableSchema(columns=[dg.TableColumn("schema_name", "VARCHAR"), dg.TableColumn("table_name", "VARCHAR"),
                                     dg.TableColumn("estimated_rows", "BIGINT")])
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(rows for _, _, rows in catalogue),
        "dagster/column_schema": schema,  # the copy's catalogue: one row per table, below
        "catalogue": dg.MetadataValue.table([dg.TableRecord({"schema_name": s, "table_name": n, "estimated_rows": r})
                                             for s, n, r in catalogue], schema=schema),
        "path": dg.MetadataValue.path(str(target)), "bytes": target.stat().st_size, "marts_views": views,
        "open_it": dg.MetadataValue.md(f"`duckdb.connect('{target}', read_only=True)`"),
    })
