"""The monthly close pack: one Excel workbook per month, the way finance closes a month.

Sheets: Cover (month, run, data cut-off, checks), Summary P&L, Tenant margin, Deployment margin (by
kind), Invoices, Invoice lines, Cost lines (with their match), Reconciliation. Amounts are written as
numbers in major units with a currency format per column (USD) or per cell (invoice currencies);
every table has a frozen header, a filter and a totals row whose SUM formulas carry their cached
value, so a reader without recalculation (or a test) sees the same figure Excel computes. The totals
that must tie to the Summary say so on the Cover.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from billing_assets.exports import atomic_path
from billing_assets.money import exponent, minor_text
from billing_assets.reports import xlsx
from billing_assets.reports.xlsx import DECIMAL_STYLE, STYLE, Sheet, Workbook
from billing_assets.sql_files import read_sql

FETCH_ROWS = 10_000  # rows read from DuckDB at a time: a sheet is streamed, never held whole
PLAIN, USD, LOCAL = "plain", "usd", "local"  # how a column is written: as it is, USD minor units, invoice currency


@dataclass(frozen=True)
class Table:
    """One sheet's table: its query (sql/reports/close_pack_<query>.sql), headers, which columns are
    USD money (minor units), which hold invoice-currency money with the currency in `currency_column`,
    and which columns get a totals row."""
    sheet: str
    query: str
    headers: tuple[str, ...]
    usd: frozenset[int] = frozenset()
    local: frozenset[int] = frozenset()
    currency_column: int | None = None
    totals: frozenset[int] = frozenset()
    widths: tuple[int, ...] = ()


TABLES = (
    Table("Tenant margin", "tenant_margin", ("tenant", "currency", "revenue (invoice currency)", "revenue USD",
                                             "cost USD", "margin USD", "margin %"),
          usd=frozenset({3, 4, 5}), local=frozenset({2}), currency_column=1, totals=frozenset({3, 4, 5}),
          widths=(24, 9, 16, 14, 14, 14, 10)),
    Table("Deployment margin", "deployment_margin", ("tenant", "deployment", "resource kind", "currency",
                                                     "revenue USD", "cost USD", "margin USD", "margin %"),
          usd=frozenset({4, 5, 6}), totals=frozenset({4, 5, 6}), widths=(22, 24, 18, 9, 14, 14, 14, 10)),
    Table("Invoices", "invoices", ("invoice number", "tenant", "document type", "status", "currency", "subtotal",
                                   "tax", "total", "issued at (UTC)"),
          local=frozenset({5, 6, 7}), currency_column=4, widths=(20, 22, 20, 9, 9, 14, 12, 14, 20)),
    Table("Invoice lines", "invoice_lines", ("invoice number", "tenant", "deployment", "kind", "description",
                                             "quantity", "currency", "amount"),
          local=frozenset({7}), currency_column=6, widths=(20, 20, 20, 18, 48, 12, 9, 14)),
    Table("Cost lines", "cost_lines", ("line", "product", "description", "start (UTC)", "end (UTC)", "amount USD",
                                       "match method", "resource kind", "tenant", "deployment",
                                       "unallocated reason"),
          usd=frozenset({5}), totals=frozenset({5}), widths=(7, 22, 44, 20, 20, 13, 16, 16, 20, 20, 18)),
    Table("Reconciliation", "reconciliation", ("step", "expected", "actual", "drift (minor units or events)",
                                               "details"), widths=(44, 50, 50, 16, 60)),
)


def summary_rows(conn: duckdb.DuckDBPyConnection, month: str) -> list[tuple[str, int | str | None]]:
    (row,) = conn.execute(read_sql("reports/close_pack_summary.sql"), {"month_start": f"{month}-01"}).fetchall() or [
        (None,) * 10]
    labels = ("Revenue (issued, net of tax and credits)", "Credits", "Cost of goods (DigitalOcean bill)",
              "Gross margin", "Gross margin %", "Tax collected", "Provider tax paid", "Unallocated cost",
              "Revenue still in drafts (not above)")
    return list(zip(labels, row[1:], strict=True))


def _write_table(sheet: Sheet, table: Table, rows: duckdb.DuckDBPyConnection) -> int:
    """Header, the rows as they are fetched, then the totals: SUBTOTAL formulas over USD columns, or
    sums per currency (an invoice total has no meaning across currencies). Returns the rows written."""
    last_col = len(table.headers) - 1
    letters = [xlsx.column_letter(c) for c in range(last_col + 1)]
    sheet.add_row(1, [xlsx.string_cell(f"{letters[c]}1", h, STYLE["header"]) for c, h in enumerate(table.headers)])
    exponents: dict[str, int] = {}
    totals = dict.fromkeys(table.totals, 0)
    by_currency: dict[str, dict[int, int]] = {}
    currency_column = table.currency_column
    kinds = [USD if c in table.usd else LOCAL if c in table.local else PLAIN for c in range(last_col + 1)]
    r = 1
    while batch := rows.fetchmany(FETCH_ROWS):
        for row in batch:
            r += 1
            at = str(r)
            currency = row[currency_column] if currency_column is not None else "USD"
            local_exponent = exponents.get(currency)
            if local_exponent is None:
                local_exponent = exponents[currency] = exponent(currency)
            cells = []
            for letter, kind, value in zip(letters, kinds, row, strict=True):
                if kind == PLAIN:
                    cells.append(xlsx.string_cell(letter + at, value) if value.__class__ is str
                                 else xlsx.value_cell(letter + at, value))
                elif kind == USD:
                    cells.append(xlsx.number_cell(letter + at, minor_text(int(value or 0), 2), STYLE["usd"]))
                else:
                    cells.append(xlsx.number_cell(letter + at, minor_text(int(value or 0), local_exponent),
                                                  DECIMAL_STYLE[local_exponent]))
            sheet.add_row(r, cells)
            for c in totals:
                totals[c] += int(row[c] or 0)
            if table.local and not totals:
                sums = by_currency.setdefault(currency, dict.fromkeys(table.local, 0))
                for c in table.local:
                    sums[c] += int(row[c] or 0)
    last = r  # the last data row
    sheet.autofilter = (max(last, 2), last_col)
    if totals:
        cells = [xlsx.string_cell(f"A{last + 1}", "Total", STYLE["bold"])]
        for c, total in sorted(totals.items()):
            column = letters[c]
            cells.append(xlsx.formula_cell(f"{column}{last + 1}", f"SUBTOTAL(109,{column}2:{column}{max(last, 2)})",
                                           minor_text(total, 2), STYLE["usd_total"]))
        sheet.add_row(last + 1, cells)
    for r, (currency, sums) in enumerate(sorted(by_currency.items()), start=last + 2):
        e = exponents[currency]
        sheet.add_row(r, [xlsx.string_cell(f"A{r}", f"Total {currency}", STYLE["bold"]),
                          xlsx.string_cell(f"{letters[currency_column]}{r}", currency, STYLE["bold"]),
                          *(xlsx.number_cell(f"{letters[c]}{r}", minor_text(total, e), DECIMAL_STYLE[e])
                            for c, total in sorted(sums.items()))])
    return last - 1


def write_close_pack(path: Path, conn: duckdb.DuckDBPyConnection, month: str, run_id: str,
                     cut_off: list[tuple[str, object]], checks: list[tuple[str, str]]) -> int:
    """The workbook, streamed to a temporary file and renamed into place (a reader sees the old pack or
    this one); the tables are read from the analysts' copy. Returns the table rows written."""
    written = 0
    with atomic_path(path) as tmp, Workbook(tmp) as book:
        with book.sheet("Cover", (44, 60)) as cover:
            cover.add_row(1, [xlsx.string_cell("A1", f"Month close pack, {month}", STYLE["title"])])
            rows = [("Month", month), ("Run", run_id), *cut_off,
                    ("Ties", "Tenant margin and Deployment margin totals = Summary revenue, cost of goods and gross "
                             "margin; Cost lines total = Summary cost of goods")]
            for r, (label, value) in enumerate(rows, start=3):
                text = value.isoformat(sep=" ") + " UTC" if isinstance(value, datetime) else str(value)
                cover.add_row(r, [xlsx.string_cell(f"A{r}", label, STYLE["bold"]), xlsx.string_cell(f"B{r}", text)])
            first_check = len(rows) + 4
            cover.write_values(first_check, ("Asset check", "Latest result"), STYLE["header"])
            for r, check in enumerate(checks, start=first_check + 1):
                cover.write_values(r, check)
        with book.sheet("Summary P&L", (44, 18), freeze_header=True) as summary:
            summary.write_values(1, ("USD", month), STYLE["header"])
            for r, (label, value) in enumerate(summary_rows(conn, month), start=2):
                if label.endswith("%"):
                    summary.write_values(r, (label, "n/a" if value is None else f"{value}%"))
                else:
                    summary.add_row(r, [xlsx.string_cell(f"A{r}", label),
                                        xlsx.number_cell(f"B{r}", minor_text(int(value or 0), 2), STYLE["usd"])])
        for table in TABLES:
            with book.sheet(table.sheet, table.widths, freeze_header=True) as sheet:
                rows = conn.execute(read_sql(f"reports/close_pack_{table.query}.sql"), {"month_start": f"{month}-01"})
                written += _write_table(sheet, table, rows)
    return written
