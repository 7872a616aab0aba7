"""Source snapshot: the operational tables copied into the warehouse's `staging` schema.

The small tables are copied together in one transaction, so tenants, subscriptions and the
catalogue always describe the same moment. Usage events are their own asset because they are
large; they stream through Arrow batches straight into DuckDB, and after the first snapshot only
those received since a cut-off are re-read where that is provably the same (source/incremental.py).
"""


from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
from pydantic import Field

from billing_assets.assets_common import DUCKDB_POOL, md_bullets, table_schema
from billing_assets.source import validation
from billing_assets.source.incremental import DEFAULT_LOOKBACK_HOURS, UsageRead, plan_usage_read
from billing_assets.source.reader import SourceError, natively_typed_columns, open_reader, redacted
from billing_assets.source.resources import SourceDatabaseResource
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import markdown_preview, run_sql, table_columns, transaction
from billing_assets.warehouse.resource import WarehouseResource

# asset name -> staging tables it holds, in source-contract order.
SNAPSHOT_TABLES: dict[str, tuple[str, ...]] = {
    "source_tenants": ("tenants", "tenant_budgets"),
    "source_deployments": ("deployments",),
    "source_plan_catalogue": ("plans", "plan_versions", "plan_version_charges", "plan_version_charge_tiers",
                              "add_ons"),
    "source_subscriptions": ("subscriptions", "subscription_phases", "subscription_add_ons", "credit_grants"),
    "source_cloud_resources": ("cloud_resources",),
}
DESCRIPTIONS = {
    "source_tenants": "Tenants with currency, tax jurisdiction and segment (staging.tenants), and their optional "
                      "monthly budgets (staging.tenant_budgets).",
    "source_deployments": "Deployments and their lifecycle state (staging.deployments).",
    "source_plan_catalogue": "Plans, immutable plan versions, usage charges with tiers, add-ons.",
    "source_subscriptions": "Subscriptions, their effective-dated plan phases, snapshotted add-ons, credit grants.",
    "source_cloud_resources": "Cloud resources per deployment with created_at/deleted_at lifetimes.",
}


def land_table(conn, source: SourceDatabaseResource, table: str, received_since: datetime | None = None) -> None:
    """The source table read as text (what the platform holds, before any typing), typed in one pass;
    PostgreSQL columns whose type already guarantees the contract's are read as they are. With
    `received_since` (usage_events, PostgreSQL) only the events received from then on, and any without
    a received_at (to be refused)."""
    columns = table_columns(conn, f"staging.{table}")
    native = natively_typed_columns(source.url, table)
    listed = ", ".join(c if c in native else f"CAST({c} AS TEXT) AS {c}" for c in columns)
    query = f"SELECT {listed} FROM {table}"  # noqa: S608 - names come from our own DDL
    parameters: tuple = ()
    if received_since is not None:
        query += " WHERE received_at >= $1 OR received_at IS NULL"
        parameters = (received_since,)
    with open_reader(source.url, query, source.batch_rows, parameters) as reader:
        conn.register("source_reader", reader)
        try:
            validation.type_rows(conn, table, "source_reader")
        finally:
            conn.unregister("source_reader")


def land_parquet_drop(conn, pattern: str) -> None:
    """The usage events Parquet drop, contract columns by name (extra columns ignored), typed in one pass."""
    try:
        validation.type_rows(conn, "usage_events", "read_parquet($pattern)", {"pattern": pattern})
    except duckdb.Error as exc:
        raise SourceError(f"usage events Parquet drop {pattern}: {exc}") from None


def snapshot(conn, tables: tuple[str, ...], land, rules: str, tenants_of: str, where: str,
             limits: validation.Limits) -> dict[str, int]:
    """Land, type, check and write `tables` in the caller's transaction; returns rows written per table.
    The old staging rows are replaced only here, after every table of the set was validated."""
    validation.start(conn, limits)
    for table in tables:
        land(table)
    validation.apply_rules(conn, rules)
    at = datetime.now(UTC).replace(tzinfo=None)
    counts = validation.write_staging(conn, tables, at, tenants_of)
    for table in tables:
        _log(conn, table, counts[table], where, at)
    return counts


def _log(conn, table: str, staged: int, where: str, at: datetime, read_since: datetime | None = None) -> None:
    conn.execute("INSERT INTO staging.snapshot_log (table_name, row_count, source, snapshot_at, read_since) "
                 "VALUES (?, ?, ?, ?, ?)", [table, staged, where, at, read_since])


def rejection_findings(conn, tables: tuple[str, ...]) -> list[str]:
    return [f"{t} {pk}: {col} = {value!r}: {reason} (tenant {tenant or 'unknown'})"
            for t, pk, col, value, reason, tenant in conn.execute(
                "SELECT table_name, primary_key, column_name, value, reason, tenant_id FROM staging.source_rejections "
                "WHERE list_contains(?, table_name) ORDER BY ALL", [list(tables)]).fetchall()]


class SnapshotConfig(dg.Config):
    max_event_quantity: int = Field(default=validation.Limits.max_event_quantity, gt=0,
                                    description="A usage event above this quantity is refused as implausible.")
    max_price_minor: int = Field(default=validation.Limits.max_price_minor, gt=0,
                                 description="A base fee or add-on price above this (minor units) is refused.")

    @property
    def limits(self) -> validation.Limits:
        return validation.Limits(self.max_event_quantity, self.max_price_minor)


class UsageSnapshotConfig(SnapshotConfig):
    full_refresh: bool = Field(default=False, description=(
        "Read every usage event, not only those received since the cut-off: after the platform edited or "
        "deleted events in place (the source contract forbids it), or to prove the incremental state."))
    lookback_hours: int = Field(default=DEFAULT_LOOKBACK_HOURS, ge=1, le=24 * 366, description=(
        "How far before the latest staged event (or the last snapshot) the usage snapshot re-reads, for "
        "events committed late with an earlier received_at."))


SMALL_TABLES = tuple(t for tables in SNAPSHOT_TABLES.values() for t in tables)


def snapshot_small_tables(conn, source_db: SourceDatabaseResource,
                          limits: validation.Limits = validation.DEFAULT_LIMITS) -> dict[str, int]:
    return snapshot(conn, SMALL_TABLES, lambda table: land_table(conn, source_db, table),
                    "source/rules_snapshot.sql", "source/rejection_tenants_snapshot.sql", redacted(source_db.url),
                    limits)


@dataclass(frozen=True)
class UsageSnapshot:
    staged: int  # usage events in staging after the snapshot
    read: int  # events read from the source this time
    since: datetime | None  # None: the whole table was read
    reason: str  # why it was read whole, or why a cut-off was safe
    # A full_refresh after incremental reads: what those reads kept (received before their last cut-off)
    # against what the full read staged there, as (events, checksum) before and after; None otherwise.
    kept: tuple[tuple, tuple, datetime] | None = None

    @property
    def label(self) -> str:
        return "whole table" if self.since is None else f"received from {self.since:%Y-%m-%d %H:%M:%S} UTC on"


def snapshot_usage_events(conn, source_db: SourceDatabaseResource,
                          limits: validation.Limits = validation.DEFAULT_LIMITS, full_refresh: bool = False,
                          lookback: timedelta = timedelta(hours=DEFAULT_LOOKBACK_HOURS)) -> UsageSnapshot:
    """Usage events from the Parquet drop when one is configured, else from the source database, and the
    index of repeated idempotency keys kept up to date with them (what lets metering read one month
    only). Only the events received since a cut-off are re-read where that gives what a full read gives
    (billing_assets/source/incremental.py); the caller owns the transaction."""
    drop = source_db.usage_events_parquet
    where = drop or redacted(source_db.url)
    plan = plan_usage_read(conn, source_db.url, drop, limits, full_refresh, lookback)
    if plan.since is not None:
        done = _snapshot_since(conn, source_db, plan, where, limits)
        if isinstance(done, UsageSnapshot):
            return done
        plan = UsageRead(None, done)
    last_cut_off = _last_cut_off(conn) if full_refresh else None
    before = _kept_checksum(conn, last_cut_off) if last_cut_off else None
    land = (lambda _: land_parquet_drop(conn, drop)) if drop else (lambda table: land_table(conn, source_db, table))
    staged = snapshot(conn, ("usage_events",), land, "source/rules_usage_events.sql",
                      "source/rejection_tenants_usage_events.sql", where, limits)["usage_events"]
    rebuild_key_index(conn)
    kept = (before, _kept_checksum(conn, last_cut_off), last_cut_off) if last_cut_off else None
    return UsageSnapshot(staged, _typed_count(conn), None, plan.reason, kept)


def rebuild_key_index(conn) -> None:
    """The idempotency-key index rebuilt from every staged event (a full usage snapshot); an incremental one
    recomputes only its touched keys, by the same file."""
    run_sql(conn, "source/repeated_usage_keys.sql")
    run_sql(conn, "source/repeated_usage_keys_touched.sql")


def _last_cut_off(conn) -> datetime | None:
    """The cut-off of the last usage snapshot, when it was incremental."""
    found = conn.execute("SELECT read_since FROM staging.snapshot_log WHERE table_name = 'usage_events' "
                         "ORDER BY snapshot_at DESC LIMIT 1").fetchone()
    return found[0] if found else None


def _kept_checksum(conn, before: datetime) -> tuple:
    """Count and order-free checksum of the staged events received before `before`."""
    return conn.execute("SELECT count(*), coalesce(sum(hash(event_id, idempotency_key, deployment_id, metric, "
                        "quantity, occurred_at, received_at)), 0) FROM staging.usage_events WHERE received_at < ?",
                        [before]).fetchone()


def _snapshot_since(conn, source_db: SourceDatabaseResource, plan: UsageRead, where: str,
                    limits: validation.Limits) -> UsageSnapshot | str:
    """The events received from the cut-off on, replacing the staged ones; or, without writing anything,
    the reason a full read must decide instead (a key reused across the cut-off with other content)."""
    validation.start(conn, limits)
    land_table(conn, source_db, "usage_events", plan.source_since)
    params = {"since": plan.since}
    conflicts = conn.execute(read_sql("source/usage_conflicts_before_cutoff.sql"), params).fetchone()[0]
    if conflicts:
        return (f"{conflicts} idempotency key(s) of the re-read events also carried before the cut-off by an "
                f"event of other content: a full read refuses every copy")
    validation.apply_rules(conn, "source/rules_usage_events.sql")
    run_sql(conn, "source/usage_keys_touched.sql", params)
    at = datetime.now(UTC).replace(tzinfo=None)
    staged = validation.write_staging(conn, ("usage_events",), at, "source/rejection_tenants_usage_events.sql",
                                      received_since=plan.since)["usage_events"]
    run_sql(conn, "source/repeated_usage_keys_touched.sql")
    _log(conn, "usage_events", staged, where, at, plan.since)
    return UsageSnapshot(staged, _typed_count(conn), plan.since, plan.reason)


def _typed_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM typed_usage_events").fetchone()[0]


def _rejection_check(name: str, asset: str, found: list[str]) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name, asset_key=asset, passed=not found, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"refused_rows": len(found), "details": dg.MetadataValue.md(md_bullets(found))})


@dg.multi_asset(
    specs=[dg.AssetSpec(name, group_name="source", description=DESCRIPTIONS[name], kinds={"sql", "duckdb"},
                        owners=["team:billing"], tags={"layer": "staging"})
           for name in SNAPSHOT_TABLES],
    check_specs=[dg.AssetCheckSpec(
        "source_rows_valid", asset="source_tenants",
        description="Every source row typed and checked; refused rows (staging.source_rejections) are kept out "
                    "of staging and their tenants are not invoiced until the source is fixed. Not blocking: "
                    "every other tenant is still invoiced.")],
    pool=DUCKDB_POOL,
)
def source_snapshot(config: SnapshotConfig, warehouse: WarehouseResource, source_db: SourceDatabaseResource):
    """One consistent, validated snapshot of the platform's small tables."""
    results = []
    with warehouse.connect() as conn:
        with transaction(conn):
            counts = snapshot_small_tables(conn, source_db, config.limits)
        found = rejection_findings(conn, SMALL_TABLES)
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
    yield _rejection_check("source_rows_valid", "source_tenants", found)


@dg.asset(group_name="source", kinds={"sql", "duckdb"}, owners=["team:billing"], pool=DUCKDB_POOL,
          tags={"layer": "staging"},
          check_specs=[dg.AssetCheckSpec(
              "usage_events_valid", asset="source_usage_events",
              description="Every usage event typed and checked (timestamps, whole quantities, plausibility, "
                          "conflicting duplicates); refused events are listed and their tenants not invoiced."),
                       dg.AssetCheckSpec(
              "incremental_reads_confirmed", asset="source_usage_events",
              description="A full_refresh (weekly: usage_full_refresh_weekly) stages exactly the events that the "
                          "incremental reads before it had kept: if not, the platform edited or deleted events in "
                          "place, which the source contract forbids (the full read has repaired staging).")])
def source_usage_events(context: dg.AssetExecutionContext, config: UsageSnapshotConfig,
                        warehouse: WarehouseResource, source_db: SourceDatabaseResource):
    """Usage events from the source, as Arrow batches, validated (dedup happens in metering): the whole
    table, or only those received since a cut-off where that is provably the same (README "The usage snapshot")."""
    started = datetime.now(UTC)
    where = source_db.usage_events_parquet or redacted(source_db.url)
    with warehouse.connect() as conn:
        with transaction(conn):
            done = snapshot_usage_events(conn, source_db, config.limits, config.full_refresh,
                                         timedelta(hours=config.lookback_hours))
        found = rejection_findings(conn, ("usage_events",))
        seconds = (datetime.now(UTC) - started).total_seconds()
        context.log.info(f"read {done.read:,} usage events ({done.label}: {done.reason}) in {seconds:.1f}s; "
                         f"{done.staged:,} staged, {len(found)} refused")
        yield dg.MaterializeResult(metadata={
            "dagster/row_count": done.staged,
            "events_read": done.read,
            "read": done.label,
            "read_reason": done.reason,
            "seconds": round(seconds, 2),
            "events_read_per_second": round(done.read / seconds) if seconds else None,
            "source": where,
            "dagster/column_schema": table_schema(conn, "staging.usage_events"),
        })
    yield _rejection_check("usage_events_valid", "source_usage_events", found)
    yield _confirmation_check(done)


def _confirmation_check(done: UsageSnapshot) -> dg.AssetCheckResult:
    if done.kept is None:
        return dg.AssetCheckResult(check_name="incremental_reads_confirmed", asset_key="source_usage_events",
                                   passed=True, metadata={"compared": False, "why": "not a full_refresh after an "
                                                                                    "incremental read"})
    before, after, cut_off = done.kept  # (events, checksum) each
    return dg.AssetCheckResult(
        check_name="incremental_reads_confirmed", asset_key="source_usage_events", passed=before == after,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"compared": True, "received_before": f"{cut_off:%Y-%m-%d %H:%M:%S} UTC",
                  "events_kept": before[0], "events_read_in_full": after[0], "same_content": before[1] == after[1]})
