"""DigitalOcean ingest: fetch first (retried), then write the warehouse in one short transaction."""

import hashlib
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import dagster as dg

from billing_assets.assets_common import (
    DUCKDB_POOL,
    MONTHLY,
    md_bullets,
    month_window,
    table_schema,
    window_label,
)
from billing_assets.ingest import parse
from billing_assets.ingest.client import DigitalOceanError
from billing_assets.ingest.documents import RawDocument
from billing_assets.ingest.resources import DigitalOceanResource
from billing_assets.periods import Period, months_in, naive
from billing_assets.secrets import SecretError
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, transaction
from billing_assets.warehouse.resource import WarehouseResource

NETWORK_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
INVOICE_GRACE = timedelta(days=3)  # DigitalOcean issues on the 1st; after this a missing invoice means no usage
COMMON = {"group_name": "ingest", "owners": ["team:finops"]}


@contextmanager
def permanent_errors_fail_fast():
    """The step RetryPolicy is for transient trouble; bad documents and 4xx answers fail at once."""
    try:
        yield
    except parse.ParseError as exc:
        raise dg.Failure(f"bad DigitalOcean document: {exc}", allow_retries=False) from None
    except SecretError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except DigitalOceanError as exc:
        if exc.permanent:
            raise dg.Failure(str(exc), allow_retries=False) from None
        raise



def store_raw(conn, docs: list[RawDocument], period: str | None = None) -> None:
    """Keep every document verbatim; identical bytes are stored once (first fetch wins)."""
    for doc in docs:
        conn.execute(
            "INSERT OR IGNORE INTO ingest.raw_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [doc.kind, doc.key, doc.page, doc.sha256, period, doc.source, doc.uri, doc.content_type,
             len(doc.content), naive(doc.fetched_at), doc.content])


def raw_pages(conn, kind: str, key: str, sha_list: str | None) -> list[tuple[bytes, str]]:
    """The stored pages of one document version (sha256s joined by ',' in page order)."""
    if not sha_list:
        return []
    pages = []
    for page, sha in enumerate(sha_list.split(","), start=1):
        row = conn.execute("SELECT content, uri FROM ingest.raw_documents WHERE kind = ? AND doc_key = ? AND page = ? "
                           "AND sha256 = ?", [kind, key, page, sha]).fetchone()
        if row is None:
            raise parse.ParseError(f"raw {kind} {key} page {page} ({sha[:12]}) is missing from ingest.raw_documents")
        pages.append((bytes(row[0]), row[1]))
    return pages


def first_fetched(conn, docs: list[RawDocument]) -> datetime | None:
    """When these bytes were first fetched (a re-fetch of identical bytes does not move it)."""
    if not docs:
        return None
    return conn.execute("SELECT min(fetched_at) FROM ingest.raw_documents WHERE sha256 IN (SELECT unnest(?))",
                        [[d.sha256 for d in docs]]).fetchone()[0]


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
        with transaction(conn):
            store_raw(conn, [doc])
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
        with transaction(conn):
            store_raw(conn, docs)
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
        with transaction(conn):
            store_raw(conn, docs)
            for r in rows:
                key = f"{r['kind']}:{r['provider_resource_id'] or r['provider_uuid']}"
                created = naive(r["created_at"]) if r["created_at"] else None
                conn.execute(
                    "INSERT INTO ingest.do_resources VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                    "ON CONFLICT (resource_key) DO UPDATE SET name = excluded.name, size_slug = excluded.size_slug, "
                    "tags = excluded.tags, last_seen_at = excluded.last_seen_at",
                    [key, r["kind"], r["provider_resource_id"], r["provider_uuid"], r["name"], r["size_slug"],
                     r["region"], created, r["cluster_uuid"], r["tags"], now, now])
        total = conn.execute("SELECT count(*) FROM ingest.do_resources").fetchone()[0]
        kinds = dict(conn.execute("SELECT kind, count(*) FROM ingest.do_resources GROUP BY 1 ORDER BY 1").fetchall())
        schema = table_schema(conn, "ingest.do_resources")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": total, "seen_this_run": len(rows), "by_kind": dg.MetadataValue.json(kinds),
        "source": digitalocean.mode, "dagster/column_schema": schema})


# --- invoices (monthly) ------------------------------------------------------------------------

def invoice_status(month: Period, listed: bool, preview_period: str | None, now: datetime) -> str:
    if listed:
        return "issued"
    if preview_period == month.label or now < month.end + INVOICE_GRACE:
        return "not_issued_yet"
    return "no_usage"


@dg.asset(**COMMON, **MONTHLY, kinds={"digitalocean", "duckdb"}, retry_policy=NETWORK_RETRY)
@permanent_errors_fail_fast()
def do_invoices(context: dg.AssetExecutionContext, digitalocean: DigitalOceanResource,
                warehouse: WarehouseResource) -> dg.MaterializeResult:
    """The month's DigitalOcean invoice: list entry, summary, every page of JSON items and the CSV,
    each kept verbatim with its SHA-256. A month DigitalOcean has not invoiced yet, or never will
    (no usage), is recorded as such."""
    start, end = month_window(context)
    source = digitalocean.document_source()
    list_docs = source.invoice_list()
    try:
        entries, preview = parse.parse_invoice_list([(d.content, d.uri) for d in list_docs])
    except parse.ParseError:
        with warehouse.connect() as conn, transaction(conn):  # refused, but its bytes are evidence
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
        with transaction(conn):  # raw documents are evidence: kept even if a later step refuses them
            store_raw(conn, list_docs)
            for month, _, items, summary, csv in fetched:
                store_raw(conn, [*items, *([summary] if summary else []), *([csv] if csv else [])], month.label)
        statuses, rows = {}, []
        for month, entry, items, summary, csv in fetched:
            # Parse before anything derived is written: a bad document fails the step, naming itself.
            item_lines = parse.parse_invoice_items([(d.content, d.uri) for d in items], entry.invoice_uuid) if entry else []
            if csv is not None:
                parse.parse_invoice_csv(csv.content, csv.uri, csv.key)
            summary_amount = parse.parse_summary_amount(summary.content, summary.uri) if summary else None
            docs = [*items, *([summary] if summary else []), *([csv] if csv else [])]
            status = "issued" if (entry or csv) else invoice_status(month, False, preview and preview.period, now)
            statuses[month.label] = status
            rows.append([month.start.replace(tzinfo=None), status,
                         entry.invoice_uuid if entry else (csv.key if csv else None),
                         entry.invoice_id if entry else None, entry.amount_minor if entry else None, summary_amount,
                         parse.total(item_lines) if entry else None, len(item_lines) if entry else None, source.name,
                         _shas(items), summary.sha256 if summary else None, csv.sha256 if csv else None,
                         first_fetched(conn, docs)])
        with transaction(conn):
            conn.execute("DELETE FROM ingest.do_invoices WHERE period_start >= ? AND period_start < ?", [start, end])
            insert_rows(conn, "ingest.do_invoices", rows)
        preview_md = markdown_preview(conn, "SELECT strftime(period_start, '%Y-%m') AS period, status, invoice_id, "
                                            "amount_minor, summary_amount_minor, item_count FROM ingest.do_invoices "
                                            "WHERE period_start >= $s AND period_start < $e ORDER BY 1",
                                      {"s": start, "e": end}, limit=36)
        schema = table_schema(conn, "ingest.do_invoices")
    waiting = sorted(p for p, s in statuses.items() if s == "not_issued_yet")
    if waiting:
        context.log.warning(f"DigitalOcean has not issued the invoice for {', '.join(waiting)} yet; "
                            "the do_invoice_sensor will request the month when it appears")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": len(statuses), "window": window_label(start, end), "source": source.name,
        "statuses": dg.MetadataValue.json(statuses), "not_issued_yet": ", ".join(waiting) or "none",
        "dagster/column_schema": schema,
        "preview": dg.MetadataValue.md(preview_md)})


# --- cost lines (monthly) ----------------------------------------------------------------------

COST_LINE_CHECKS = {
    "lines_sum_to_invoice": "Per invoice, the parsed lines sum to the invoice amount and to the summary, to the cent.",
    "csv_and_json_agree": "The CSV and the JSON items have the same lines and the same total.",
    "no_duplicate_lines": "No cost line appears twice in an invoice.",
}


def parse_month_lines(conn, period_start: datetime) -> tuple[list[parse.CostLine], dict]:
    """Parse one month's stored documents into cost lines, plus the figures the checks compare."""
    row = conn.execute("SELECT status, invoice_uuid, invoice_id, amount_minor, summary_amount_minor, items_sha256, "
                       "csv_sha256 FROM ingest.do_invoices WHERE period_start = ?", [period_start]).fetchone()
    if row is None or row[0] != "issued":
        return [], {}
    status, invoice_uuid, invoice_id, amount, summary_amount, items_sha, csv_sha = row
    items = parse.parse_invoice_items(raw_pages(conn, "invoice_items", invoice_uuid, items_sha), invoice_uuid)
    csv_pages = raw_pages(conn, "invoice_csv", invoice_uuid, csv_sha)
    if csv_pages:
        content, uri = csv_pages[0]
        lines = parse.enrich_with_ids(parse.parse_invoice_csv(content, uri, invoice_uuid), items)
    else:
        lines = items
    figures = {"invoice_uuid": invoice_uuid, "invoice_id": invoice_id, "invoice_amount": amount,
               "summary_amount": summary_amount, "lines_total": parse.total(lines),
               "json_total": parse.total(items) if items else None, "json_count": len(items) if items else None,
               "csv_count": len(lines) if csv_pages else None, "raw_sha256": csv_sha or items_sha}
    return lines, figures


def month_problems(lines: list[parse.CostLine], f: dict, month: Period) -> dict[str, list[str]]:
    """What the blocking checks find in one month's parsed documents (empty lists: all good)."""
    found: dict[str, list[str]] = {name: [] for name in COST_LINE_CHECKS}
    label = f"{month.label} invoice {f['invoice_id'] or f['invoice_uuid']}"
    for expected, name in ((f["invoice_amount"], "invoice amount"), (f["summary_amount"], "summary")):
        if expected is not None and expected != f["lines_total"]:
            found["lines_sum_to_invoice"].append(f"{label}: lines total {f['lines_total']} ≠ {name} {expected} (cents)")
    if f["csv_count"] is not None and f["json_count"] is not None and (
            f["csv_count"], f["lines_total"]) != (f["json_count"], f["json_total"]):
        found["csv_and_json_agree"].append(f"{label}: CSV {f['csv_count']} lines / {f['lines_total']} vs JSON "
                                           f"{f['json_count']} lines / {f['json_total']}")
    seen: dict[tuple, int] = {}
    for line in lines:
        key = (*line.match_key, line.end_at, line.hours, line.project_name)
        if key in seen:
            found["no_duplicate_lines"].append(f"{label}: line {line.line_number} repeats line {seen[key]} "
                                               f"({line.description})")
        seen.setdefault(key, line.line_number)
    return found


@dg.asset(**COMMON, **MONTHLY, kinds={"duckdb"}, deps=[do_invoices],
          check_specs=[dg.AssetCheckSpec(name, asset="do_cost_lines", description=desc, blocking=True)
                       for name, desc in COST_LINE_CHECKS.items()])
def do_cost_lines(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Every line of the month's DigitalOcean invoice, parsed header-keyed from the stored CSV (or the
    JSON items when no CSV was kept), enriched with resource ids, amounts in cents, tax flagged,
    traceable to its invoice and line number in the raw bytes."""
    start, end = month_window(context)
    problems: dict[str, list[str]] = {name: [] for name in COST_LINE_CHECKS}
    kept: list[str] = []  # months whose documents failed a check: their previous lines stay
    with warehouse.connect() as conn:
        with transaction(conn):
            total_lines = 0
            for month in months_in(Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))):
                lines, f = parse_month_lines(conn, month.start.replace(tzinfo=None))
                found = month_problems(lines, f, month) if lines else {}
                if any(found.values()):
                    for name, items in found.items():
                        problems[name] += items
                    kept.append(month.label)
                    continue
                conn.execute("DELETE FROM ingest.do_cost_lines WHERE period_start = ?", [month.start.replace(tzinfo=None)])
                insert_rows(conn, "ingest.do_cost_lines",
                    [[month.start.replace(tzinfo=None), line.invoice_uuid, f["invoice_id"], line.line_number,
                      line.product, line.group_description, line.description, line.hours, naive(line.start_at),
                      naive(line.end_at), line.amount_minor, "USD", line.project_name, line.category, line.is_tax,
                      line.resource_id, line.resource_uuid, line.source, f["raw_sha256"]] for line in lines])
                total_lines += len(lines)
        preview = markdown_preview(conn, read_sql("ingest/cost_lines_preview.sql"), {"s": start, "e": end}, limit=40)
        schema = table_schema(conn, "ingest.do_cost_lines")
    yield dg.MaterializeResult(metadata={
        "dagster/row_count": total_lines, "window": window_label(start, end), "preview": dg.MetadataValue.md(preview),
        "dagster/column_schema": schema,
        "months_kept_as_before": dg.MetadataValue.md(md_bullets(
            [f"{m}: its documents failed a check below; the lines from before stay" for m in kept]))})
    for name, found in problems.items():
        yield dg.AssetCheckResult(check_name=name, passed=not found, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"findings": len(found), "details": dg.MetadataValue.md(md_bullets(found))})
