"""Metering at scale: N usage events (default 10 million, ~1% duplicate keys) for one month.

    .venv/bin/python benchmarks/metering.py [--events 10000000] [--duplicate-rate 0.01] [--workdir DIR]

Prints, in one run:
  - the monthly roll-up through the project's own code (sql/metering/metered_usage.sql, as the
    metered_usage asset runs it, events already in staging) — time, events/s, peak RSS;
  - loading the Parquet drop into staging the way source_usage_events does;
  - the reference: one hand-written DuckDB query over the same Parquet (QUALIFY row_number() ... = 1,
    then GROUP BY deployment and metric), and the floor: a bare GROUP BY without dedup;
  - the same deduplicated aggregation inside PostgreSQL (DISTINCT ON), the way OLTP billing does it;
  - reading all events from PostgreSQL into the warehouse through the project's reader (ADBC);
  - the next snapshot after --new-events more events (default 1M) were recorded: incremental, it reads
    only the events received since the cut-off (the latest staged one less the 24 h look-back);
  - the incremental path (--history-months, default 12): the same generator writes months 2..12 (each
    N events, retries spanning months), all staged in one warehouse (straight SQL, the snapshot's order
    and key index, not its validation), and the metering step (metered_usage.sql + billable_usage.sql,
    as the asset runs them) is timed for month 1 with only month 1 staged, month 1 and month 12 with
    the whole history staged; both answers are compared with a full deduplication of every staged event.
Each measured stage runs in a fresh process, so its peak RSS is its own. PostgreSQL comes from the
pgserver wheel. Targets (issues 5 and 16): roll-up at most 1.0x the reference, at least 4x faster than
PostgreSQL, under 2 GiB peak; PostgreSQL -> warehouse at 1.5M events/s or more; month 12 of the
history within 1.2x of month 1.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIRST_MONTH = "2026-04-01"
sys.path.insert(0, str(ROOT))

REFERENCE = """
SELECT deployment_id, metric, sum(quantity) AS quantity, count(*) AS events FROM (
    SELECT * FROM read_parquet($path)
    QUALIFY row_number() OVER (PARTITION BY idempotency_key ORDER BY received_at, event_id) = 1)
WHERE occurred_at >= TIMESTAMP '2026-04-01' AND occurred_at < TIMESTAMP '2026-05-01'
GROUP BY deployment_id, metric
"""
FLOOR = """
SELECT deployment_id, metric, sum(quantity) AS quantity, count(*) AS events FROM read_parquet($path)
WHERE occurred_at >= TIMESTAMP '2026-04-01' AND occurred_at < TIMESTAMP '2026-05-01'
GROUP BY deployment_id, metric
"""
POSTGRES = """
SELECT deployment_id, metric, sum(quantity), count(*) FROM (
    SELECT DISTINCT ON (idempotency_key) * FROM usage_events ORDER BY idempotency_key, received_at, event_id) e
WHERE occurred_at >= '2026-04-01' AND occurred_at < '2026-05-01'
GROUP BY deployment_id, metric
"""


# Month `$month` counted by a full deduplication of every staged event (what the index must reproduce):
# first received copies that occurred in the month, whatever month their copies are in.
FULL_DEDUP = """
SELECT sum(quantity), count(*) FROM (
    SELECT * FROM staging.usage_events
    QUALIFY row_number() OVER (PARTITION BY idempotency_key ORDER BY received_at, event_id) = 1)
WHERE occurred_at >= CAST($month AS TIMESTAMP) AND occurred_at < CAST($month AS TIMESTAMP) + INTERVAL 1 MONTH
"""


def next_month(month: str) -> str:
    from billing_assets.periods import parse_month

    return f"{parse_month(month).end:%Y-%m-%d}"


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stage(name: str, queue, *args) -> None:
    import duckdb

    from billing_assets.source.assets import rebuild_key_index, snapshot_usage_events
    from billing_assets.source.resources import SourceDatabaseResource
    from billing_assets.warehouse import open_warehouse, run_sql, transaction

    started = time.perf_counter()
    result = None
    if name == "rollup":
        warehouse, month, with_billable = args
        params = {"window_start": month, "window_end": next_month(month), "grace_hours": 3}
        with open_warehouse(warehouse) as conn, transaction(conn):
            started = time.perf_counter()
            run_sql(conn, "metering/metered_usage.sql", params)
            if with_billable:
                run_sql(conn, "metering/billable_usage.sql", params)
            result = conn.execute("SELECT sum(quantity + late_quantity), sum(event_count) FROM revenue.metered_usage "
                                  "WHERE source = 'events' AND period_start = ?", [month]).fetchone()
    elif name == "key_index":
        (warehouse,) = args
        with open_warehouse(warehouse) as conn, transaction(conn):
            started = time.perf_counter()
            rebuild_key_index(conn)
            result = conn.execute("SELECT count(*), sum(copies) FROM staging.repeated_usage_keys").fetchone()
    elif name == "stage_history":
        warehouse, pattern = args
        with open_warehouse(warehouse) as conn, transaction(conn):
            started = time.perf_counter()
            conn.execute("SET memory_limit = '12GB'")  # set-up only: what is measured runs at the default
            from billing_assets.source.validation import STAGING_ORDER

            conn.execute("INSERT INTO staging.usage_events BY NAME SELECT * FROM read_parquet(?) "
                         f"ORDER BY {STAGING_ORDER['usage_events']}", [pattern])
            rebuild_key_index(conn)
            result = conn.execute("SELECT count(*) FROM staging.usage_events").fetchone()
    elif name == "full_dedup":
        warehouse, month = args
        conn = duckdb.connect(warehouse, read_only=True)
        result = conn.execute(FULL_DEDUP, {"month": month}).fetchone()
    elif name == "load_parquet":
        warehouse, parquet = args
        with open_warehouse(warehouse) as conn, transaction(conn):
            started = time.perf_counter()
            result = (snapshot_usage_events(conn, SourceDatabaseResource(url="sqlite://",
                                                                         usage_events_parquet=parquet)).staged,)
    elif name in ("reference", "floor"):
        (parquet,) = args
        conn = duckdb.connect()
        rows = conn.execute(REFERENCE if name == "reference" else FLOOR, {"path": parquet}).fetchall()
        result = (sum(r[2] for r in rows), sum(r[3] for r in rows))
    elif name in ("postgres_read", "postgres_incremental"):  # the first snapshot, then the next one
        warehouse, url = args
        with open_warehouse(warehouse) as conn, transaction(conn):
            started = time.perf_counter()
            done = snapshot_usage_events(conn, SourceDatabaseResource(url=url))
            result = ((done.staged,) if name == "postgres_read"
                      else (done.staged, done.read, f"{done.label} ({done.reason})"))
    elif name == "postgres_dedup":
        (url,) = args
        import sqlalchemy as sa

        engine = sa.create_engine(url)
        with engine.connect() as conn:
            conn.exec_driver_sql("SET work_mem = '256MB'")
            rows = conn.exec_driver_sql(POSTGRES).fetchall()
        engine.dispose()
        result = (sum(int(r[2]) for r in rows), sum(int(r[3]) for r in rows))
    queue.put((time.perf_counter() - started, _peak_rss_mib(), result))


def measure(name: str, *args) -> tuple[float, float, tuple]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_stage, args=(name, queue, *args))
    process.start()
    outcome = queue.get()
    process.join()
    return outcome


def history_path(args, world, month_one: str) -> dict[str, tuple]:
    """Months 2..H generated beside month 1, staged together; the metering step timed on month 1 alone
    and on months 1 and H of the whole history. Each value: (seconds, peak RSS, result, events staged)."""
    from billing_assets.sample_world.events import write_usage_events_parquet

    started = time.perf_counter()
    for month_index in range(1, args.history_months):
        write_usage_events_parquet(args.workdir / "history" / f"month_{month_index:02d}.parquet", world, args.events,
                                   duplicate_rate=args.duplicate_rate, month_index=month_index)
    print(f"generated months 2..{args.history_months} of the history in {time.perf_counter() - started:.1f}s")
    whole = str(args.workdir / "warehouse_history.duckdb")
    shutil.copy(month_one.replace(".duckdb", "_snapshot.duckdb"), whole)
    seconds, _, (staged,) = measure("stage_history", whole, str(args.workdir / "history" / "*.parquet"))
    print(f"staged {staged:,} events with their key index in {seconds:.1f}s")
    last = FIRST_MONTH
    for _ in range(args.history_months - 1):
        last = next_month(last)
    one_alone = measure("rollup", month_one, FIRST_MONTH, True)
    runs = {f"month 1, only month 1 staged ({FIRST_MONTH[:7]})": (*one_alone, args.events)}
    for label, month in ((f"month 1 of {args.history_months} staged", FIRST_MONTH),
                         (f"month {args.history_months} of {args.history_months} staged ({last[:7]})", last)):
        seconds, rss, result = measure("rollup", whole, month, True)
        oracle = measure("full_dedup", whole, month)[2]
        runs[label] = (seconds, rss, result, staged, oracle)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--duplicate-rate", type=float, default=0.01)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".billing" / "bench")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--new-events", type=int, default=1_000_000,
                        help="events added to PostgreSQL before the incremental usage snapshot")
    parser.add_argument("--history-months", type=int, default=12,
                        help="months of N events each for the incremental path (0 skips it)")
    args = parser.parse_args()

    from billing_assets.sample_world import build_world
    from billing_assets.sample_world.events import write_usage_events_parquet
    from billing_assets.sample_world.writer import load_source
    from billing_assets.warehouse import open_warehouse, transaction

    if args.workdir.exists():
        shutil.rmtree(args.workdir)
    args.workdir.mkdir(parents=True)
    world = build_world()
    parquet = str(args.workdir / "history" / "month_00.parquet")  # month 1 of the history
    started = time.perf_counter()
    n = write_usage_events_parquet(Path(parquet), world, args.events, duplicate_rate=args.duplicate_rate)
    print(f"generated {n:,} events ({args.duplicate_rate:.0%} duplicate keys) in {time.perf_counter() - started:.1f}s")

    # A warehouse with the sample world's snapshot (deployments, catalogue) but only the benchmark's events.
    world.tables["usage_events"] = []
    sqlite = f"sqlite:///{args.workdir / 'source.sqlite'}"
    load_source(sqlite, world)
    warehouse = str(args.workdir / "warehouse.duckdb")
    from billing_assets.source.assets import snapshot_small_tables
    from billing_assets.source.resources import SourceDatabaseResource

    with open_warehouse(warehouse) as conn, transaction(conn):
        snapshot_small_tables(conn, SourceDatabaseResource(url=sqlite))

    shutil.copy(warehouse, warehouse.replace(".duckdb", "_snapshot.duckdb"))
    results: dict[str, tuple[float, float, tuple]] = {}
    results["load_parquet"] = measure("load_parquet", warehouse, parquet)
    results["rollup"] = measure("rollup", warehouse, FIRST_MONTH, False)
    results["key_index"] = measure("key_index", warehouse)
    results["reference"] = measure("reference", parquet)
    results["floor"] = measure("floor", parquet)

    server = None
    if not args.skip_postgres:
        import pgserver
        import psycopg2

        server = pgserver.get_server(str(args.workdir / "pg"), cleanup_mode="stop")
        url = server.get_uri().replace("postgresql://", "postgresql+psycopg2://", 1)
        from billing_assets.sql_files import read_sql, statements

        started = time.perf_counter()
        dsn = server.get_uri()
        with psycopg2.connect(dsn) as pg, pg.cursor() as cur:
            ddl = [s for s in statements(read_sql("source/schema.sql")) if "usage_events" in s]
            for statement in ddl:
                cur.execute(statement)
            csv_path = args.workdir / "usage_events.csv"
            import duckdb

            duckdb.connect().execute(
                f"COPY (SELECT event_id, idempotency_key, deployment_id, metric, quantity, occurred_at, received_at "
                f"FROM read_parquet('{parquet}')) TO '{csv_path}' (HEADER false)")
            with csv_path.open() as handle:
                cur.copy_expert("COPY usage_events FROM STDIN WITH (FORMAT csv)", handle)
            cur.execute("ANALYZE usage_events")
        print(f"loaded {n:,} events into PostgreSQL (pgserver) in {time.perf_counter() - started:.1f}s")
        fresh = str(args.workdir / "warehouse_pg.duckdb")  # an empty usage table, as on a first snapshot
        shutil.copy(warehouse.replace(".duckdb", "_snapshot.duckdb"), fresh)
        results["postgres_read"] = measure("postgres_read", fresh, url)
        results["postgres_dedup"] = measure("postgres_dedup", url)
        # The next snapshot, after the platform recorded args.new_events more, all received after the staged
        # ones: only the events received since the cut-off (the latest staged one less the 24 h look-back)
        # are read. (Shifted by less, some would land before the cut-off and the count would send it whole.)
        with psycopg2.connect(dsn) as pg, pg.cursor() as cur:
            cur.execute("SELECT max(received_at) - min(received_at) + interval '1 hour' FROM usage_events")
            shift = cur.fetchone()[0]
            cur.execute("INSERT INTO usage_events SELECT event_id || '-next', idempotency_key || '-next', deployment_id, "
                        "metric, quantity, occurred_at + %s, received_at + %s "
                        "FROM usage_events ORDER BY event_id LIMIT %s", [shift, shift, args.new_events])
            cur.execute("ANALYZE usage_events")
        incremental = measure("postgres_incremental", fresh, url)

    history = history_path(args, world, warehouse) if args.history_months > 1 else {}

    ref_seconds = results["reference"][0]
    print()
    print(f"{'stage':<52} {'seconds':>8} {'events/s':>13} {'peak RSS':>10}  result")
    labels = {
        "rollup": "roll-up through the project (metered_usage SQL)",
        "key_index": "  its key index, rebuilt (in the snapshot's step)",
        "load_parquet": "Parquet drop -> staging (source_usage_events)",
        "reference": "reference: QUALIFY dedup + GROUP BY over Parquet",
        "floor": "floor: GROUP BY without dedup over Parquet",
        "postgres_dedup": "PostgreSQL 16: DISTINCT ON + GROUP BY",
        "postgres_read": "PostgreSQL -> warehouse via ADBC (project reader)",
    }
    for key, label in labels.items():
        if key in results:
            seconds, rss, outcome = results[key]
            print(f"{label:<52} {seconds:>8.2f} {n / seconds:>13,.0f} {rss:>7.0f} MiB  {outcome}")
    rollup_s, rollup_rss, rollup_out = results["rollup"]
    print()
    checks = [("roll-up at most 1.0x the reference", rollup_s <= ref_seconds, f"{rollup_s / ref_seconds:.2f}x"),
              ("roll-up peak RSS under 2 GiB", rollup_rss < 2048, f"{rollup_rss:.0f} MiB"),
              ("roll-up equals the reference (quantity)", rollup_out[0] == results["reference"][2][0],
               f"{rollup_out[0]:,} vs {results['reference'][2][0]:,}")]
    if "postgres_dedup" in results:
        pg_s = results["postgres_dedup"][0]
        checks.append(("roll-up at least 4x faster than PostgreSQL", pg_s >= 4 * rollup_s, f"{pg_s / rollup_s:.1f}x"))
        checks.append(("PostgreSQL agrees (quantity)", results["postgres_dedup"][2][0] == rollup_out[0],
                       f"{results['postgres_dedup'][2][0]:,}"))
        read_s = results["postgres_read"][0]
        checks.append(("PostgreSQL -> warehouse at 1.5M events/s or more", n / read_s >= 1_500_000,
                       f"{n / read_s:,.0f}/s"))
        inc_s, inc_rss, (staged, read, since) = incremental
        print(f"{'next snapshot, incremental (+' + format(args.new_events, ',') + ' events)':<52} {inc_s:>8.2f} "
              f"{read / inc_s:>13,.0f} {inc_rss:>7.0f} MiB  read {read:,}, {staged:,} staged: {since}")
        checks.append(("the next snapshot read only from the cut-off on", read < n, f"{read:,} events read"))
        checks.append(("the incremental snapshot staged every event", staged == n + args.new_events,
                       f"{staged:,} of {n + args.new_events:,}; {inc_s:.1f} s vs {read_s:.1f} s for the full read"))
    if history:
        print()
        print(f"{'metering step (metered_usage + billable_usage SQL)':<52} {'seconds':>8} {'staged':>13} "
              f"{'peak RSS':>10}  result")
        for label, (seconds, rss, outcome, staged, *_) in history.items():
            print(f"{label:<52} {seconds:>8.2f} {staged:>13,} {rss:>7.0f} MiB  {outcome}")
        first, _, last = (figures[0] for figures in history.values())
        checks.append((f"month {args.history_months} of the history within 1.2x of month 1 alone", last <= 1.2 * first,
                       f"{last / first:.2f}x"))
        compared = [f for f in history.values() if len(f) > 4]
        checks.append(("history months equal a full dedup of every staged event",
                       all(tuple(f[2]) == tuple(f[4]) for f in compared),
                       "; ".join(f"{f[2]} vs {f[4]}" for f in compared)))
    for label, ok, figure in checks:
        print(f"{'PASS' if ok else 'MISS'}  {label}: {figure}")
    if server is not None:
        server.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
