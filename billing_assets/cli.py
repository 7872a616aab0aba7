"""`billing-assets`: the demo, the invoice preview and the sample-world generator.

    billing-assets demo                      sample world -> every asset, every sample month, via Dagster
    billing-assets preview --tenant acme --period 2026-04
    billing-assets sample-world [--force]    (re)create the sample source database and DigitalOcean folder
    billing-assets migrate [--status]        apply the warehouse's pending migrations (or list them)
    billing-assets find-usage --tenant acme --period 2026-04 [--metric api_requests] [--deployment acme-web]
    billing-assets find-payments --tenant acme   the ids the reverse_usage_event / reverse_payment jobs take
    billing-assets query [NAME] [--csv]      list the saved analyst queries, or run one on the analysts' copy
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import sys
import time
from importlib.resources import files
from pathlib import Path

from billing_assets.sample_world.world import WorldParams
from billing_assets.settings import locations


def _prepare_dagster_home() -> Path:
    """The demo's instance: the shipped single-machine dagster.yaml unless DAGSTER_HOME already has one."""
    home = locations().dagster_home
    os.environ["DAGSTER_HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text((files("billing_assets.deploy") / "dagster.yaml").read_text())
    return home


def ensure_sample_world(force: bool = False, params=None) -> bool:
    """Create the sample world unless it exists and was written for this release's source contract and
    the same parameters (a world from before a contract change, or of another size, is rewritten);
    returns True when it was created."""
    from billing_assets.sample_world import write_sample_world
    from billing_assets.sql_files import read_sql

    params = params or WorldParams()
    where = locations()
    stamp = hashlib.sha256(read_sql("source/schema.sql").encode()).hexdigest()
    if params != WorldParams():  # the demo world keeps the stamp it always had
        stamp += f" {params!r}"
    marker = where.home / "sample-world.contract-sha256"
    current = marker.exists() and marker.read_text().strip() == stamp
    if where.sample_source_path.exists() and where.do_export_dir.exists() and current and not force:
        return False
    if where.do_export_dir.exists():
        shutil.rmtree(where.do_export_dir)
    write_sample_world(where.sample_source_path, where.do_export_dir, params)
    marker.write_text(stamp + "\n")
    return True


def cmd_sample_world(args: argparse.Namespace) -> int:
    try:
        params = WorldParams(tenants=args.tenants, months=args.months,
                             events_per_deployment_month=args.events_per_deployment_month)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    created = ensure_sample_world(force=args.force, params=params)
    where = locations()
    print(("created" if created else "kept existing") + f" sample world ({params.tenants:,} tenants, "
          f"{params.months} months from {params.first_month}, {params.events_per_deployment_month} events per "
          f"deployment and month) in {time.perf_counter() - started:.1f} s: {where.sample_source_path}, "
          f"{where.do_export_dir}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from billing_assets.demo import run_demo

    started = time.monotonic()
    _prepare_dagster_home()
    if ensure_sample_world():
        print(f"created the sample world under {locations().home}")
    return run_demo(started)


def cmd_preview(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from billing_assets.revenue.invoicing.preview import preview_rows
    from billing_assets.warehouse import open_warehouse

    try:
        with open_warehouse(locations().warehouse_path, read_only=True) as conn:
            q, rows = preview_rows(conn, args.tenant, args.period)
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Preview: tenant {args.tenant}, {q.period.label}, {q.currency} (nothing is written)")
    print(tabulate(rows, headers=("kind", "description", "quantity", "amount"), disable_numparse=True))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    import duckdb

    from billing_assets.warehouse import MigrationError, apply_migrations, pending_migrations

    path = locations().warehouse_path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with duckdb.connect(str(path)) as conn:
            todo = pending_migrations(conn) if args.status else apply_migrations(conn)
    except (MigrationError, duckdb.Error) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verb = "pending" if args.status else "applied"
    print(f"{path}: {len(todo)} migration(s) {verb}" + "".join(f"\n  {m.label}" for m in todo))
    return 0


def cmd_raw_document(args: argparse.Namespace) -> int:
    """Why a command: raw chunks are stored compressed, so SQL alone cannot give a document's bytes back."""
    from billing_assets.ingest.raw_store import MissingRawDocument, open_raw, resolve_sha256
    from billing_assets.warehouse import open_warehouse

    try:
        with open_warehouse(locations().warehouse_path, read_only=True) as conn:
            sha = resolve_sha256(conn, args.sha256)
            with open_raw(conn, sha) as stream:
                if args.out:
                    with open(args.out, "wb") as out:
                        shutil.copyfileobj(stream, out)
                else:
                    shutil.copyfileobj(stream, sys.stdout.buffer)
                    sys.stdout.buffer.flush()
    except (MissingRawDocument, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out:
        print(f"{args.out}: raw document {sha}", file=sys.stderr)
    return 0


def cmd_find(args: argparse.Namespace) -> int:
    """Why a command: the reversal jobs take ids, an operator knows a slug and a month."""
    from tabulate import tabulate

    from billing_assets.revenue.payments.lookup import find_payments, find_usage
    from billing_assets.warehouse import open_warehouse

    try:
        with open_warehouse(locations().warehouse_path, read_only=True) as conn:
            if args.command == "find-usage":
                rows = find_usage(conn, args.tenant, args.period, args.metric, args.deployment, args.limit)
                headers = ("usage_event_id", "deployment", "metric", "quantity", "occurred_at (UTC)",
                           "idempotency_key", "reversed")
            else:
                rows = find_payments(conn, args.tenant, args.limit)
                headers = ("payment_id", "invoice_number", "period", "amount_minor", "currency", "paid_at (UTC)",
                           "reversed")
    except (ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(tabulate(rows, headers=headers, disable_numparse=True) if rows else "nothing found")
    if len(rows) == args.limit:
        print(f"(first {args.limit}; narrow with the options or raise --limit)")
    return 0


def cmd_query(args: argparse.Namespace) -> int:
    """Why a command: the saved queries ship inside the package (sql/analyst), so an installed
    release runs them without a checkout; each is also a plain .sql file for any DuckDB client."""
    import duckdb
    from tabulate import tabulate

    from billing_assets.sql_files import read_sql, sql_folder

    saved = sorted(p.name.removesuffix(".sql") for p in sql_folder("analyst").iterdir() if p.name.endswith(".sql"))
    if not args.name:
        for name in saved:
            print(f"{name:28} {read_sql(f'analyst/{name}.sql').splitlines()[0].removeprefix('-- ')}")
        return 0
    if args.name not in saved:
        print(f"error: no saved query {args.name!r}; one of: {', '.join(saved)}", file=sys.stderr)
        return 2
    copy = locations().exports_dir / "warehouse.duckdb"
    if not copy.exists():
        print(f"error: {copy} does not exist: run the month close (or the demo) first", file=sys.stderr)
        return 2
    with duckdb.connect(str(copy), read_only=True) as conn:
        result = conn.sql(read_sql(f"analyst/{args.name}.sql"))
        if args.csv:
            result.pl().write_csv(sys.stdout)
        else:
            print(tabulate(result.fetchall(), headers=result.columns, disable_numparse=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="billing-assets", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="run the whole pipeline on the sample world").set_defaults(func=cmd_demo)
    preview = sub.add_parser("preview", help="print one tenant's invoice for one month")
    preview.add_argument("--tenant", required=True, help="tenant id or slug")
    preview.add_argument("--period", required=True, help="YYYY-MM")
    preview.set_defaults(func=cmd_preview)
    world = sub.add_parser("sample-world", help="create the sample source database and DigitalOcean folder")
    world.add_argument("--force", action="store_true", help="recreate even if present")
    demo_world = WorldParams()
    world.add_argument("--tenants", type=int, default=demo_world.tenants,
                       help="how many tenants (default: the demo's 10; more are copies of those ten, every scenario "
                            "included)")
    world.add_argument("--months", type=int, default=demo_world.months, help="months of history, from 2026-01")
    world.add_argument("--events-per-deployment-month", type=int, default=demo_world.events_per_deployment_month,
                       help="API-request events per deployment and month (build-minute events are 40%% of that)")
    world.set_defaults(func=cmd_sample_world)
    migrate = sub.add_parser("migrate", help="bring the warehouse's schema up to this release")
    migrate.add_argument("--status", action="store_true", help="only list the pending migrations")
    migrate.set_defaults(func=cmd_migrate)
    raw = sub.add_parser("raw-document", help="write one stored DigitalOcean document's verbatim bytes")
    raw.add_argument("sha256", help="its SHA-256 (ingest.raw_documents.sha256), or a unique prefix of 8+ digits")
    raw.add_argument("--out", help="file to write (default: standard output)")
    raw.set_defaults(func=cmd_raw_document)
    usage = sub.add_parser("find-usage", help="list a tenant's usage events of a month (ids to reverse)")
    usage.add_argument("--tenant", required=True, help="tenant slug or id")
    usage.add_argument("--period", required=True, help="YYYY-MM (events by occurred_at, UTC)")
    usage.add_argument("--metric", help="only this metric (api_requests, build_minutes, ...)")
    usage.add_argument("--deployment", help="only this deployment (slug or id)")
    payments = sub.add_parser("find-payments", help="list a tenant's recorded payments (ids to reverse)")
    payments.add_argument("--tenant", required=True, help="tenant slug or id")
    for finder in (usage, payments):
        finder.add_argument("--limit", type=int, default=50, help="at most this many rows, newest first (50)")
        finder.set_defaults(func=cmd_find)
    query = sub.add_parser("query", help="list the saved analyst queries (sql/analyst), or run one")
    query.add_argument("name", nargs="?", help="the query to run (no name: list them)")
    query.add_argument("--csv", action="store_true", help="CSV on standard output instead of a table")
    query.set_defaults(func=cmd_query)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
