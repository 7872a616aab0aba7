"""The monthly close pack: one Excel workbook per month, the way finance closes a month.

Sheets: Cover (month, run, data cut-off, checks), Summary P&L, Tenant margin, Deployment margin (by
kind), Invoices, Invoice lines, Cost lines (with their match), Reconciliation. Amounts are written as
numbers in major units with a currency format per column (USD) or per cell (invoice currencies);
every table has a frozen header, a filter and a totals row whose SUM formulas carry their cached
value, so a reader without recalculation (or a test) sees the same figure Excel computes. The totals
that must tie to the Summary say so on the Cover.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import xlsxwriter
from xlsxwriter.utility import xl_rowcol_to_cell

from billing_assets.exports import replace_atomically
from billing_assets.money import exponent, minor_to_major
from billing_assets.sql_files import read_sql

USD_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'


def major(minor, currency: str = "USD") -> Decimal:
    """Minor units (None: none) as an exact Decimal of major units, written to Excel as a number."""
    return minor_to_major(int(minor or 0), currency)


@dataclass(frozen=True)
class Table:
    """One sheet's table: headers, rows, which columns are USD money (minor units), which hold invoice-
    currency money with the currency in `currency_column`, and which columns get a totals row."""
    sheet: str
    headers: tuple[str, ...]
    rows: list[tuple]
    usd: frozenset[int] = frozenset()
    local: frozenset[int] = frozenset()
    currency_column: int | None = None
    totals: frozenset[int] = frozenset()
    widths: tuple[int, ...] = ()


def _query(conn, name: str, month_start: str) -> list[tuple]:
    return conn.execute(read_sql(f"reports/close_pack_{name}.sql"), {"month_start": month_start}).fetchall()


def close_pack_tables(conn: duckdb.DuckDBPyConnection, month: str) -> list[Table]:
    """The month's tables, read from the analysts' copy (sql/reports/close_pack_*.sql)."""
    start = f"{month}-01"
    return [
        Table("Tenant margin", ("tenant", "currency", "revenue (invoice currency)", "revenue USD", "cost USD",
                                "margin USD", "margin %"), _query(conn, "tenant_margin", start),
              usd=frozenset({3, 4, 5}), local=frozenset({2}), currency_column=1, totals=frozenset({3, 4, 5}),
              widths=(24, 9, 16, 14, 14, 14, 10)),
        Table("Deployment margin", ("tenant", "deployment", "resource kind", "currency", "revenue USD", "cost USD",
                                    "margin USD", "margin %"), _query(conn, "deployment_margin", start),
              usd=frozenset({4, 5, 6}), totals=frozenset({4, 5, 6}), widths=(22, 24, 18, 9, 14, 14, 14, 10)),
        Table("Invoices", ("invoice number", "tenant", "document type", "status", "currency", "subtotal", "tax",
                           "total", "issued at (UTC)"), _query(conn, "invoices", start),
              local=frozenset({5, 6, 7}), currency_column=4, widths=(20, 22, 20, 9, 9, 14, 12, 14, 20)),
        Table("Invoice lines", ("invoice number", "tenant", "deployment", "kind", "description", "quantity",
                                "currency", "amount"), _query(conn, "invoice_lines", start),
              local=frozenset({7}), currency_column=6, widths=(20, 20, 20, 18, 48, 12, 9, 14)),
        Table("Cost lines", ("line", "product", "description", "start (UTC)", "end (UTC)", "amount USD",
                             "match method", "resource kind", "tenant", "deployment", "unallocated reason"),
              _query(conn, "cost_lines", start), usd=frozenset({5}), totals=frozenset({5}),
              widths=(7, 22, 44, 20, 20, 13, 16, 16, 20, 20, 18)),
        Table("Reconciliation", ("step", "expected", "actual", "drift (minor units or events)", "details"),
              _query(conn, "reconciliation", start), widths=(44, 50, 50, 16, 60)),
    ]


def summary_rows(conn: duckdb.DuckDBPyConnection, month: str) -> list[tuple[str, int | str | None]]:
    (row,) = conn.execute(read_sql("reports/close_pack_summary.sql"), {"month_start": f"{month}-01"}).fetchall() or [
        (None,) * 10]
    labels = ("Revenue (issued, net of tax and credits)", "Credits", "Cost of goods (DigitalOcean bill)",
              "Gross margin", "Gross margin %", "Tax collected", "Provider tax paid", "Unallocated cost",
              "Revenue still in drafts (not above)")
    return list(zip(labels, row[1:], strict=True))


def _totals_by_currency(table: Table) -> list[tuple[str, dict[int, int]]]:
    """Sums of the local-currency columns per currency: an invoice total has no meaning across currencies."""
    sums: dict[str, dict[int, int]] = {}
    for row in table.rows:
        per = sums.setdefault(row[table.currency_column], {})
        for col in table.local:
            per[col] = per.get(col, 0) + int(row[col] or 0)
    return sorted(sums.items())


def write_close_pack(path: Path, month: str, run_id: str, cut_off: list[tuple[str, object]],
                     checks: list[tuple[str, str]], summary: list[tuple[str, object]], tables: list[Table]) -> Path:
    """The workbook, built in memory and put in place atomically (a reader sees the old one or this one)."""
    content = io.BytesIO()  # xlsxwriter holds every cell in memory anyway; this adds only the zipped file
    book = xlsxwriter.Workbook(content, {"strings_to_numbers": False, "remove_timezone": True})
    bold = book.add_format({"bold": True})
    title = book.add_format({"bold": True, "font_size": 16})
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    usd_format = book.add_format({"num_format": USD_FORMAT})
    usd_total = book.add_format({"num_format": USD_FORMAT, "bold": True, "top": 1})
    local_formats = {e: book.add_format({"num_format": "#,##0" + ("." + "0" * e if e else "")}) for e in (0, 2, 3)}
    date_format = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})

    cover = book.add_worksheet("Cover")
    cover.set_column(0, 0, 44)
    cover.set_column(1, 1, 60)
    cover.write(0, 0, f"Month close pack, {month}", title)
    rows = [("Month", month), ("Run", run_id), *cut_off,
            ("Ties", "Tenant margin and Deployment margin totals = Summary revenue, cost of goods and gross "
                     "margin; Cost lines total = Summary cost of goods")]
    for i, (label, value) in enumerate(rows, start=2):
        cover.write(i, 0, label, bold)
        cover.write(i, 1, value.isoformat(sep=" ") + " UTC" if isinstance(value, datetime) else str(value))
    first_check = len(rows) + 3
    cover.write(first_check, 0, "Asset check", header)
    cover.write(first_check, 1, "Latest result", header)
    for i, (check, status) in enumerate(checks, start=first_check + 1):
        cover.write(i, 0, check)
        cover.write(i, 1, status)

    sheet = book.add_worksheet("Summary P&L")
    sheet.set_column(0, 0, 44)
    sheet.set_column(1, 1, 18)
    sheet.write_row(0, 0, ("USD", month), header)
    for i, (label, value) in enumerate(summary, start=1):
        sheet.write(i, 0, label)
        if label.endswith("%"):
            sheet.write(i, 1, "n/a" if value is None else f"{value}%")
        else:
            sheet.write_number(i, 1, major(value), usd_format)
    sheet.freeze_panes(1, 0)

    for table in tables:
        sheet = book.add_worksheet(table.sheet)
        for col, width in enumerate(table.widths):
            sheet.set_column(col, col, width)
        sheet.write_row(0, 0, table.headers, header)
        for r, row in enumerate(table.rows, start=1):
            currency = row[table.currency_column] if table.currency_column is not None else "USD"
            for c, value in enumerate(row):
                if c in table.usd:
                    sheet.write_number(r, c, major(value), usd_format)
                elif c in table.local:
                    sheet.write_number(r, c, major(value, currency), local_formats[exponent(currency)])
                elif isinstance(value, datetime):
                    sheet.write_datetime(r, c, value, date_format)
                elif value is None:
                    sheet.write_blank(r, c, None)
                elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_string(r, c, str(value))
        last = len(table.rows)
        sheet.autofilter(0, 0, max(last, 1), len(table.headers) - 1)
        sheet.freeze_panes(1, 0)
        if table.totals:
            sheet.write(last + 1, 0, "Total", bold)
            for c in sorted(table.totals):
                total = sum(int(row[c] or 0) for row in table.rows)
                cells = f"{xl_rowcol_to_cell(1, c)}:{xl_rowcol_to_cell(max(last, 1), c)}"
                sheet.write_formula(last + 1, c, f"=SUBTOTAL(109,{cells})", usd_total, major(total))
        if table.currency_column is not None and table.local and not table.totals:
            for i, (currency, sums) in enumerate(_totals_by_currency(table), start=last + 2):
                sheet.write(i, 0, f"Total {currency}", bold)
                sheet.write(i, table.currency_column, currency, bold)
                for c, total in sums.items():
                    sheet.write_number(i, c, major(total, currency), local_formats[exponent(currency)])
    book.close()
    return replace_atomically(path, content.getvalue())
