"""One month's DigitalOcean cost lines, built from the stored documents in flat memory.

Each document is parsed once, a batch at a time, straight from its stored chunks into Parquet files in
a scratch folder; enrichment, totals and duplicate detection are set-based SQL over views of those
files. Why files and not DuckDB temp tables: rows inserted into a temp table inside the step's
transaction stay in memory whatever `memory_limit` says (a 200 MB CSV held ~550 MB that way), while
DuckDB scans Parquet in bounded memory. A month whose documents fail a blocking check keeps the
lines it had: nothing here writes `ingest.do_cost_lines` until `replace_month_lines` is called for a
month that passed.

Why its own memory limit (COST_LINES_MEMORY_LIMIT, lower than the warehouse's): this step's input size
is set by DigitalOcean, not by us, and everything it does spills (Parquet scans, windows, an insert that
DuckDB writes to disk as it goes), so it runs in a small fixed budget whatever the CSV's size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import polars as pl

from billing_assets.ingest import parse
from billing_assets.ingest.raw_store import open_raw, raw_pages, raw_uri
from billing_assets.periods import Period, naive
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import run_sql

COST_LINES_MEMORY_LIMIT = "128MB"  # a 211 MB CSV: 445 MiB peak for the step's process (benchmarks/invoice_csv.py)

STAGE_SCHEMA = {"line_number": pl.Int32, "product": pl.String, "group_description": pl.String,
                "description": pl.String, "hours": pl.Int32, "start_at": pl.Datetime("us"),
                "end_at": pl.Datetime("us"), "amount_minor": pl.Int64, "project_name": pl.String,
                "category": pl.String, "is_tax": pl.Boolean, "resource_id": pl.String, "resource_uuid": pl.String,
                "source": pl.String}

COST_LINE_CHECKS = {
    "lines_sum_to_invoice": "Per invoice, the parsed lines sum to the invoice amount and to the summary, to the cent.",
    "csv_and_json_agree": "The CSV and the JSON items have the same lines and the same total.",
    "no_duplicate_lines": "No cost line appears twice in an invoice.",
}


@dataclass(frozen=True)
class MonthFigures:
    """What the blocking checks compare for one month's invoice."""

    invoice_uuid: str
    invoice_id: str | None
    invoice_amount: int | None
    summary_amount: int | None
    raw_sha256: str
    line_count: int
    lines_total: int
    csv_count: int | None   # None: no CSV kept (the JSON items are the lines)
    json_count: int | None  # None: no JSON items (a control-panel CSV only)
    json_total: int | None


class ParquetStage:
    """One scratch table as a folder of Parquet files, a batch per file, seen by DuckDB as a temp view."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.files = folder, 0
        folder.mkdir(parents=True)

    def append(self, lines: list[parse.CostLine]) -> int:
        """Write one batch (built column by column: faster than row by row); returns how many lines."""
        if not lines and self.files:
            return 0
        columns = {c: [getattr(line, c) for line in lines] for c in STAGE_SCHEMA}
        columns["start_at"] = [naive(v) for v in columns["start_at"]]
        columns["end_at"] = [naive(v) for v in columns["end_at"]]
        self.files += 1  # an empty first batch still writes a file: the view needs one to know the columns
        pl.DataFrame(columns, schema=STAGE_SCHEMA).write_parquet(self.folder / f"{self.files:06d}.parquet")
        return len(lines)

    def view(self, conn, name: str) -> None:
        """A TEMP view: a relation's create_view() would persist it in the warehouse's main schema,
        pointing at files the caller deletes (migration 0018 drops the ones earlier releases left)."""
        if not self.files:
            self.append([])
        conn.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS "
                     + conn.read_parquet(str(self.folder / "*.parquet")).sql_query())


def stage_month(conn, period_start: datetime, scratch: Path) -> MonthFigures | None:
    """Parse the month's stored documents into the scratch views `month_csv_lines`, `month_item_lines`
    and `month_lines` (files under `scratch`, which the caller removes); None if the month has no issued
    invoice. A document that cannot be parsed raises ParseError naming file, line and column."""
    rows = conn.execute("SELECT status, invoice_uuid, invoice_id, amount_minor, summary_amount_minor, items_sha256, "
                        "csv_sha256 FROM ingest.do_invoices WHERE period_start = ?", [period_start]).fetchall()
    if not rows or rows[0][0] != "issued":
        return None
    _, invoice_uuid, invoice_id, amount, summary_amount, items_sha, csv_sha = rows[0]
    month = scratch / period_start.strftime("%Y-%m")
    items_stage, csv_stage = ParquetStage(month / "items"), ParquetStage(month / "csv")
    items_staged = 0  # JSON items are numbered across pages
    for content, uri in raw_pages(conn, "invoice_items", invoice_uuid, items_sha):
        items_staged += items_stage.append(parse.parse_invoice_items(
            [(content, uri)], invoice_uuid, first_line_number=items_staged))
    if csv_sha:
        uri = raw_uri(conn, "invoice_csv", invoice_uuid, csv_sha)
        with open_raw(conn, csv_sha) as stream:
            for batch in parse.iter_invoice_csv(stream, uri, invoice_uuid):
                csv_stage.append(batch)
    items_stage.view(conn, "month_item_lines")
    csv_stage.view(conn, "month_csv_lines")
    run_sql(conn, "ingest/cost_lines_month.sql")
    count, total = conn.execute("SELECT count(*), coalesce(sum(amount_minor), 0) FROM month_lines").fetchall()[0]
    items, items_total = conn.execute("SELECT count(*), sum(amount_minor) FROM month_item_lines").fetchall()[0]
    return MonthFigures(invoice_uuid, invoice_id, amount, summary_amount, csv_sha or items_sha, count, int(total),
                        count if csv_sha else None, items if items else None,
                        int(items_total) if items else None)


def month_problems(conn, f: MonthFigures, month: Period) -> dict[str, list[str]]:
    """What the blocking checks find in the staged month (empty lists: all good)."""
    found: dict[str, list[str]] = {name: [] for name in COST_LINE_CHECKS}
    label = f"{month.label} invoice {f.invoice_id or f.invoice_uuid}"
    for expected, name in ((f.invoice_amount, "invoice amount"), (f.summary_amount, "summary")):
        if expected is not None and expected != f.lines_total:
            found["lines_sum_to_invoice"].append(f"{label}: lines total {f.lines_total} ≠ {name} {expected} (cents)")
    if f.csv_count is not None and f.json_count is not None and (
            f.csv_count, f.lines_total) != (f.json_count, f.json_total):
        found["csv_and_json_agree"].append(f"{label}: CSV {f.csv_count} lines / {f.lines_total} vs JSON "
                                           f"{f.json_count} lines / {f.json_total}")
    repeats = conn.execute(read_sql("ingest/cost_lines_duplicates.sql")).fetchall()
    found["no_duplicate_lines"] = [f"{label}: line {n} repeats line {first} ({description})"
                                   for n, first, description, _ in repeats]
    if repeats and repeats[0][3] > len(repeats):
        found["no_duplicate_lines"].append(f"{label}: … {repeats[0][3] - len(repeats)} more repeated lines")
    return found


def replace_month_lines(conn, month: Period, f: MonthFigures) -> int:
    """Replace the month's rows in ingest.do_cost_lines with the staged lines (inside the caller's transaction)."""
    run_sql(conn, "ingest/cost_lines_replace.sql", {"period_start": naive(month.start), "invoice_uuid": f.invoice_uuid,
                                                    "invoice_id": f.invoice_id, "raw_sha256": f.raw_sha256})
    return f.line_count
