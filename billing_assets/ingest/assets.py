"""DigitalOcean ingest: fetch first (retried), then write the warehouse in one short transaction."""

import hashlib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

import dagster as dg
import polars as pl

from billing_assets.assets_common import (
    DUCKDB_POOL,
    MONTHLY,
    md_bullets,
    month_window,
    monthly_results,
    table_schema,
)
from billing_assets.ingest import parse
from billing_assets.ingest.client import DigitalOceanError
from billing_assets.ingest.cost_lines import (
    COST_LINE_CHECKS,
    COST_LINES_MEMORY_LIMIT,
    month_problems,
    replace_month_lines,
    stage_month,
)
from billing_assets.ingest.documents import RawDocument
from billing_assets.ingest.raw_store import MissingRawDocument, first_fetched, store_raw
from billing_assets.ingest.resources import DigitalOceanResource
from billing_assets.periods import Period, months_in, naive
from billing_assets.secrets import SecretError
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import (
    insert_rows,
    markdown_preview,
    memory_limit,
    registered,
    run_sql,
    transaction,
)
from billing_assets.warehouse.resource import WarehouseResource

NETWORK_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
INVOICE_GRACE = timedelta(days=3)  # DigitalOcean issues on the 1st; after this a missing invoice means no usage
COMMON = {"group_name": "ingest", "owners": ["team:finops"]}


@contextmanager
def permanent_errors_fail_fast():
    """The step RetryPolicy is for transient trouble; bad documents and 4xx answers fail at once."""
    try:
        yield
    except (parse.ParseError, MissingRawDocument) as exc:
        raise dg.Failure(f"bad DigitalOcean document: {exc}", allow_retries=False) from None
    except SecretError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except FileNotFoundError as exc:  # an export folder's file does not appear by retrying
        raise dg.Failure(f"{exc}: put it in the DigitalOcean export folder (or set DIGITALOCEAN_TOKEN) and "
                         "re-run", allow_retries=False) from None
    except DigitalOceanError as exc:
        if exc.permanent:
            raise dg.Failure(str(exc), allow_retries=False) from None
        raise



def _shas(docs: list[RawDocument]) -> str | None:
    return ",".join(d.sha256 for d in docs) or None


# --- balance and billing history -------------------------------------------------------------

@dg.asset(**COMMON, kinds={"digitalocean", "duckdb"}, pool=DUCKDB_POOL, retry_policy=NETWORK_RETRY)
@permanent_errors_fail_fast()
def do_balance_snapshots(context: dg.AssetExecutionContext, digitalocean: DigitalOceanResource,
                         warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Account balance, month-to-date usage: one snapshot appended per run (hourly schedule)."""
    doc = digitalocean.document_source().balance()
    balance = parse.parse_balance(doc.content, doc.uri)
    with warehouse.connect() as conn:
        store_raw(conn, [doc])
        with transaction(conn):
            conn.execute("INSERT INTO ingest.do_balance_snapshots VALUES (?, ?, ?, ?, ?, 'USD', ?)",
                         [naive(doc.fetched_at), naive(balance["generated_at"]),
                          balance["month_to_date_balance_minor"], balance["account_balance_minor"],
                          balance["month_to_date_usage_minor"], doc.sha256])
        rows = conn.execute("SELECT count(*) FROM ingest.do_balance_snapshots").fetchone()[0]
        schema = table_schema(conn, "ingest.do_balance_snapshots")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "source": digitalocean.mode, "dagster/column_schema": schema,
        "month_to_date_usage_minor": balance["month_to_date_usage_minor"],
        "month_to_date_balance_minor": balance["month_to_date_balance_minor"]})


def _entry_key(entry: dict) -> str:
    natural = "|".join(str(entry[k]) for k in ("entry_type", "occurred_at", "amount_minor", "invoice_uuid",
                                               "description"))
    return hashlib.sha256(natural.encode()).hexdigest()[:32]


@dg.asset(**COMMON, kinds={"digitalocean", "duckdb"}, pool=DUCKDB_POOL, retry_policy=NETWORK_RETRY)
@permanent_errors_fail_fast()
def do_billing_history(context: dg.AssetExecutionContext, digitalocean: DigitalOceanResource,
                       warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The full billing history (all ten entry types), upserted on a natural key (daily schedule)."""
    docs = digitalocean.document_source().billing_history()
    entries = parse.parse_billing_history([(d.content, d.uri) for d in docs])
    now = naive(datetime.now(UTC))
    with warehouse.connect() as conn:
        store_raw(conn, docs)
        with transaction(conn):
            before = conn.execute("SELECT count(*) FROM ingest.do_billing_history").fetchone()[0]
            for e in entries:
                conn.execute("INSERT OR IGNORE INTO ingest.do_billing_history VALUES (?, ?, ?, ?, 'USD', ?, ?, ?, ?)",
                             [_entry_key(e), e["entry_type"], e["description"], e["amount_minor"], e["invoice_id"],
                              e["invoice_uuid"], naive(e["occurred_at"]), now])
        rows = conn.execute("SELECT count(*) FROM ingest.do_billing_history").fetchone()[0]
        types = dict(conn.execute("SELECT entry_type, count(*) FROM ingest.do_billing_history GROUP BY 1 "
                                  "ORDER BY 1").fetchall())
        schema = table_schema(conn, "ingest.do_billing_history")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": rows, "new_entries": rows - before, "entries_by_type": dg.MetadataValue.json(types),
        "source": digitalocean.mode, "dagster/column_schema": schema})


# --- resource inventory --------------------------------------------------------------------------

SEEN_RESOURCES = {"ordinal": pl.Int64, "resource_key": pl.String, "kind": pl.String, "provider_resource_id": pl.String,
                  "provider_uuid": pl.String, "name": pl.String, "size_slug": pl.String, "region": pl.String,
                  "created_at": pl.Datetime("us"), "cluster_uuid": pl.String, "tags": pl.String}


@dg.asset(**COMMON, kinds={"digitalocean", "duckdb"}, pool=DUCKDB_POOL, retry_policy=NETWORK_RETRY)
@permanent_errors_fail_fast()
def do_resources(context: dg.AssetExecutionContext, digitalocean: DigitalOceanResource,
                 warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Resource inventory (droplets incl. GPU, volumes, databases, load balancers, Kubernetes clusters
    and their node droplets, apps) with first_seen/last_seen, so deleted resources stay matchable."""
    docs = digitalocean.document_source().resources()
    rows = parse.parse_resources([(d.content, d.uri, d.key) for d in docs])
    now = naive(datetime.now(UTC))
    with warehouse.connect() as conn:
        store_raw(conn, docs)
        seen = pl.DataFrame(
            [[n, f"{r['kind']}:{r['provider_resource_id'] or r['provider_uuid']}", r["kind"], r["provider_resource_id"],
              r["provider_uuid"], r["name"], r["size_slug"], r["region"],
              naive(r["created_at"]) if r["created_at"] else None, r["cluster_uuid"], r["tags"]]
             for n, r in enumerate(rows)], schema=SEEN_RESOURCES, orient="row")
        with transaction(conn), registered(conn, "seen_resources", seen):
            run_sql(conn, "ingest/do_resources_upsert.sql", {"now": now})
        total = conn.execute("SELECT count(*) FROM ingest.do_resources").fetchone()[0]
        kinds = dict(conn.execute("SELECT kind, count(*) FROM ingest.do_resources GROUP BY 1 ORDER BY 1").fetchall())
        schema = table_schema(conn, "ingest.do_resources")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": total, "seen_this_run": len(rows), "by_kind": dg.MetadataValue.json(kinds),
        "source": digitalocean.mode, "dagster/column_schema": schema})


# --- invoices (monthly) ------------------------------------------------------------------------

def _item_figures(pages: list[RawDocument], invoice_uuid: str) -> tuple[int, int]:
    """Count and total of an invoice's JSON items, a page at a time."""
    count = total = 0
    for page in pages:
        lines = parse.parse_invoice_items([(page.content, page.uri)], invoice_uuid)
        count, total = count + len(lines), total + parse.total(lines)
    return count, total


def invoice_status(month: Period, listed: bool, preview_period: str | None, now: datetime) -> str:
    if listed:
        return "issued"
    if preview_period == month.label or now < month.end + INVOICE_GRACE:
        return "not_issued_yet"
    return "no_usage"


def invoice_metadata(conn, start: datetime, end: datetime) -> dict[str, object]:
    """One month's invoice row for its partition's page."""
    row = conn.execute("SELECT status, invoice_id, amount_minor, summary_amount_minor, items_total_minor, item_count "
                       "FROM ingest.do_invoices WHERE period_start >= ? AND period_start < ?", [start, end]).fetchone()
    status, invoice_id, amount, summary, items_total, items = row or (None,) * 6
    return {"dagster/row_count": 1 if row else 0, "status": status or "none", "invoice_id": invoice_id or "none",
            "amount_minor": amount, "summary_amount_minor": summary, "items_total_minor": items_total,
            "item_count": items}


@dg.asset(**COMMON, **MONTHLY, kinds={"digitalocean", "duckdb"}, retry_policy=NETWORK_RETRY)
def do_invoices(context: dg.AssetExecutionContext, digitalocean: DigitalOceanResource, warehouse: WarehouseResource):
    """The month's DigitalOcean invoice: list entry, summary, every page of JSON items and the CSV,
    each kept verbatim with its SHA-256. A month DigitalOcean has not invoiced yet, or never will
    (no usage), is recorded as such."""
    with permanent_errors_fail_fast():  # (a generator: the decorator form would not wrap its body)
        yield from _invoices(context, digitalocean, warehouse)


def _invoices(context: dg.AssetExecutionContext, digitalocean: DigitalOceanResource, warehouse: WarehouseResource):
    start, end = month_window(context)
    with digitalocean.document_source() as source:  # a CSV download lives in the source's scratch folder
        list_docs = source.invoice_list()
        try:
            entries, preview = parse.parse_invoice_list([(d.content, d.uri) for d in list_docs])
        except parse.ParseError:
            with warehouse.connect() as conn:  # refused, but its bytes are evidence
                store_raw(conn, list_docs)
            raise
        by_period = {e.period: e for e in entries}
        now = datetime.now(UTC)
        fetched = []  # (month, entry, items, summary, csv)
        for month in months_in(Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))):
            entry = by_period.get(month.label)
            if entry:
                fetched.append((month, entry, source.invoice_items(entry.invoice_uuid),
                                source.invoice_summary(entry.invoice_uuid), source.invoice_csv(entry.invoice_uuid)))
            elif (dropped := source.dropped_csv(month.label)) is not None:
                fetched.append((month, None, [], None, dropped))
            else:
                fetched.append((month, None, [], None, None))
        with warehouse.connect() as conn:
            store_raw(conn, list_docs)  # raw documents are evidence: kept even if a later step refuses them
            for month, _, items, summary, csv in fetched:
                store_raw(conn, [*items, *([summary] if summary else []), *([csv] if csv else [])], month.label)
            statuses, rows = {}, []
            for month, entry, items, summary, csv in fetched:
                # JSON is checked here, before anything derived is written; the CSV is parsed once, by
                # do_cost_lines, straight from the stored chunks.
                item_count, item_total = _item_figures(items, entry.invoice_uuid) if entry else (None, None)
                summary_amount = parse.parse_summary_amount(summary.content, summary.uri) if summary else None
                docs = [*items, *([summary] if summary else []), *([csv] if csv else [])]
                status = "issued" if (entry or csv) else invoice_status(month, False, preview and preview.period, now)
                statuses[month.label] = status
                rows.append([month.start.replace(tzinfo=None), status,
                             entry.invoice_uuid if entry else (csv.key if csv else None),
                             entry.invoice_id if entry else None, entry.amount_minor if entry else None,
                             summary_amount, item_total, item_count, source.name,
                             _shas(items), summary.sha256 if summary else None, csv.sha256 if csv else None,
                             first_fetched(conn, docs)])
            with transaction(conn):
                conn.execute("DELETE FROM ingest.do_invoices WHERE period_start >= ? AND period_start < ?",
                             [start, end])
                insert_rows(conn, "ingest.do_invoices", rows)
            waiting = sorted(p for p, s in statuses.items() if s == "not_issued_yet")
            if waiting:
                context.log.warning(f"DigitalOcean has not issued the invoice for {', '.join(waiting)} yet; "
                                    "the do_invoice_sensor will request the month when it appears")
            yield from monthly_results(context, {"source": source.name,
                                                 "dagster/column_schema": table_schema(conn, "ingest.do_invoices")},
                                       partial(invoice_metadata, conn))


# --- cost lines (monthly) ----------------------------------------------------------------------

@dg.asset(**COMMON, **MONTHLY, kinds={"duckdb"}, deps=[do_invoices],
          check_specs=[dg.AssetCheckSpec(name, asset="do_cost_lines", description=desc, blocking=True)
                       for name, desc in COST_LINE_CHECKS.items()])
def do_cost_lines(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Every line of the month's DigitalOcean invoice, parsed header-keyed from the stored CSV (or the
    JSON items when no CSV was kept), enriched with resource ids, amounts in cents, tax flagged,
    traceable to its invoice and line number in the raw bytes."""
    with permanent_errors_fail_fast():  # (a generator: the decorator form would not wrap its body)
        yield from _cost_lines(context, warehouse)


def _cost_lines(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    start, end = month_window(context)
    problems: dict[str, list[str]] = {name: [] for name in COST_LINE_CHECKS}
    kept: list[str] = []  # months whose documents failed a check: their previous lines stay
    with warehouse.connect() as conn, warehouse.scratch() as scratch:
        with memory_limit(conn, COST_LINES_MEMORY_LIMIT), transaction(conn):
            for month in months_in(Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))):
                figures = stage_month(conn, naive(month.start), scratch)
                if figures is None:  # not invoiced (yet): the month has no lines
                    conn.execute("DELETE FROM ingest.do_cost_lines WHERE period_start = ?", [naive(month.start)])
                    continue
                found = month_problems(conn, figures, month)
                if any(found.values()):
                    for name, items in found.items():
                        problems[name] += items
                    kept.append(month.label)
                    continue
                replace_month_lines(conn, month, figures)
        def month_metadata(month_start: datetime, month_end: datetime) -> dict[str, object]:
            params = {"s": month_start, "e": month_end}
            kept_as_before = f"{month_start:%Y-%m}" in kept
            return {"dagster/row_count": conn.execute("SELECT count(*) FROM ingest.do_cost_lines WHERE period_start "
                                                      ">= $s AND period_start < $e", params).fetchone()[0],
                    "kept_as_before": "yes: its documents failed a check below; the lines from before stay"
                                      if kept_as_before else "no",
                    "preview": dg.MetadataValue.md(markdown_preview(
                        conn, read_sql("ingest/cost_lines_preview.sql"), params, limit=40))}

        yield from monthly_results(context, {"dagster/column_schema": table_schema(conn, "ingest.do_cost_lines")},
                                   month_metadata)
    for name, found in problems.items():
        yield dg.AssetCheckResult(check_name=name, passed=not found, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"findings": len(found), "details": dg.MetadataValue.md(md_bullets(found))})
