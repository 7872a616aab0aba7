"""Source snapshot: the operational tables copied into the warehouse's `staging` schema.

The small tables are copied together in one transaction, so tenants, subscriptions and the
catalogue always describe the same moment. Usage events are their own asset because they are
large; they stream through Arrow batches straight into DuckDB.
"""


from datetime import UTC, datetime

import dagster as dg
import duckdb

from billing_assets.assets_common import DUCKDB_POOL, table_schema
from billing_assets.source.reader import SourceError, open_reader, redacted
from billing_assets.source.resources import SourceDatabaseResource
from billing_assets.warehouse import markdown_preview, table_columns, transaction
from billing_assets.warehouse.resource import WarehouseResource

# asset name -> staging tables it holds, in source-contract order.
SNAPSHOT_TABLES: dict[str, tuple[str, ...]] = {
    "source_tenants": ("tenants",),
    "source_deployments": ("deployments",),
    "source_plan_catalogue": ("plans", "plan_versions", "plan_version_charges", "plan_version_charge_tiers",
                              "add_ons"),
    "source_subscriptions": ("subscriptions", "subscription_phases", "subscription_add_ons", "credit_grants"),
    "source_cloud_resources": ("cloud_resources",),
}
DESCRIPTIONS = {
    "source_tenants": "Tenants with currency, tax jurisdiction and segment (staging.tenants).",
    "source_deployments": "Deployments and their lifecycle state (staging.deployments).",
    "source_plan_catalogue": "Plans, immutable plan versions, usage charges with tiers, add-ons.",
    "source_subscriptions": "Subscriptions, their effective-dated plan phases, snapshotted add-ons, credit grants.",
    "source_cloud_resources": "Cloud resources per deployment with created_at/deleted_at lifetimes.",
}


def copy_table(conn, source: SourceDatabaseResource, table: str) -> int:
    """Replace staging.<table> with the source's rows; the caller owns the transaction."""
    columns = table_columns(conn, f"staging.{table}")
    query = f"SELECT {', '.join(columns)} FROM {table}"  # noqa: S608 - names come from our own DDL
    conn.execute(f"DELETE FROM staging.{table}")  # noqa: S608
    with open_reader(source.url, query, source.batch_rows) as reader:
        conn.register("source_reader", reader)
        conn.execute("SET preserve_insertion_order = false")  # staging row order means nothing; lets DuckDB parallelise
        try:
            conn.execute(f"INSERT INTO staging.{table} BY NAME SELECT * FROM source_reader")  # noqa: S608
        finally:
            conn.execute("RESET preserve_insertion_order")
            conn.unregister("source_reader")
    rows = conn.execute(f"SELECT count(*) FROM staging.{table}").fetchone()[0]  # noqa: S608
    conn.execute("INSERT INTO staging.snapshot_log VALUES (?, ?, ?, ?)",
                 [table, rows, redacted(source.url), datetime.now(UTC).replace(tzinfo=None)])
    return rows


def copy_parquet_drop(conn, pattern: str) -> int:
    """Replace staging.usage_events with the Parquet drop (contract columns by name; extra columns ignored)."""
    columns = table_columns(conn, "staging.usage_events")
    conn.execute("DELETE FROM staging.usage_events")
    try:
        conn.execute(f"INSERT INTO staging.usage_events BY NAME SELECT {', '.join(columns)} "  # noqa: S608
                     "FROM read_parquet($pattern)", {"pattern": pattern})
    except duckdb.Error as exc:
        raise SourceError(f"usage events Parquet drop {pattern}: {exc}") from None
    rows = conn.execute("SELECT count(*) FROM staging.usage_events").fetchone()[0]
    conn.execute("INSERT INTO staging.snapshot_log VALUES ('usage_events', ?, ?, ?)",
                 [rows, pattern, datetime.now(UTC).replace(tzinfo=None)])
    return rows


@dg.multi_asset(
    specs=[dg.AssetSpec(name, group_name="source", description=DESCRIPTIONS[name], kinds={"sql", "duckdb"},
                        owners=["team:billing"], tags={"layer": "staging"})
           for name in SNAPSHOT_TABLES],
    pool=DUCKDB_POOL,
)
def source_snapshot(warehouse: WarehouseResource, source_db: SourceDatabaseResource):
    """One consistent snapshot of the platform's small tables."""
    results = []
    with warehouse.connect() as conn:
        with transaction(conn):
            counts = {t: copy_table(conn, source_db, t) for tables in SNAPSHOT_TABLES.values() for t in tables}
        for asset_name, tables in SNAPSHOT_TABLES.items():
            first = f"staging.{tables[0]}"
            results.append(dg.MaterializeResult(
                asset_key=asset_name,
                metadata={
                    "dagster/row_count": sum(counts[t] for t in tables),
                    "rows_per_table": dg.MetadataValue.json({t: counts[t] for t in tables}),
                    "source": redacted(source_db.url),
                    "dagster/column_schema": table_schema(conn, first),
                    "preview": dg.MetadataValue.md(markdown_preview(conn, f"SELECT * FROM {first}", limit=5)),  # noqa: S608
                },
            ))
    yield from results


@dg.asset(group_name="source", kinds={"sql", "duckdb"}, owners=["team:billing"], pool=DUCKDB_POOL,
          tags={"layer": "staging"})
def source_usage_events(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                        source_db: SourceDatabaseResource) -> dg.MaterializeResult:
    """All usage events from the source, streamed as Arrow batches (dedup happens in metering)."""
    started = datetime.now(UTC)
    with warehouse.connect() as conn:
        with transaction(conn):
            if source_db.usage_events_parquet:
                rows = copy_parquet_drop(conn, source_db.usage_events_parquet)
            else:
                rows = copy_table(conn, source_db, "usage_events")
        seconds = (datetime.now(UTC) - started).total_seconds()
        context.log.info(f"copied {rows:,} usage events in {seconds:.1f}s")
        return dg.MaterializeResult(metadata={
            "dagster/row_count": rows,
            "seconds": round(seconds, 2),
            "events_per_second": round(rows / seconds) if seconds else None,
            "source": source_db.usage_events_parquet or redacted(source_db.url),
            "dagster/column_schema": table_schema(conn, "staging.usage_events"),
        })
