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

from billing_assets.exports import replace_atomically
from billing_assets.money import exponent
from billing_assets.reports import xlsx
from billing_assets.reports.xlsx import DECIMAL_STYLE, STYLE, Sheet, minor_text
from billing_assets.sql_files import read_sql


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


def _table_sheet(table: Table) -> Sheet:
    """One table as a sheet: header, rows, and its totals (SUBTOTAL formulas, or sums per currency)."""
    last_col = len(table.headers) - 1
    letters = [xlsx.column_letter(c) for c in range(last_col + 1)]
    sheet = Sheet(table.sheet, table.widths, freeze_header=True, autofilter=(max(len(table.rows), 1) + 1, last_col))
    sheet.add_row(1, [xlsx.string_cell(f"{letters[c]}1", h, STYLE["header"]) for c, h in enumerate(table.headers)],
                  last_col)
    exponents: dict[str, int] = {}
    usd, local = table.usd, table.local
    for r, row in enumerate(table.rows, start=2):
        currency = row[table.currency_column] if table.currency_column is not None else "USD"
        local_exponent = exponents.get(currency)
        if local_exponent is None:
            local_exponent = exponents[currency] = exponent(currency)
        cells = []
        for c, value in enumerate(row):
            if c in usd:
                cells.append(xlsx.number_cell(f"{letters[c]}{r}", minor_text(int(value or 0), 2), STYLE["usd"]))
            elif c in local:
                cells.append(xlsx.number_cell(f"{letters[c]}{r}", minor_text(int(value or 0), local_exponent),
                                              DECIMAL_STYLE[local_exponent]))
            else:
                cells.append(xlsx.value_cell(f"{letters[c]}{r}", value))
        sheet.add_row(r, cells)
    last = len(table.rows) + 1  # the last data row
    if table.totals:
        cells = [xlsx.string_cell(f"A{last + 1}", "Total", STYLE["bold"])]
        for c in sorted(table.totals):
            total = sum(int(row[c] or 0) for row in table.rows)
            column = letters[c]
            cells.append(xlsx.formula_cell(f"{column}{last + 1}", f"SUBTOTAL(109,{column}2:{column}{max(last, 2)})",
                                           minor_text(total, 2), STYLE["usd_total"]))
        sheet.add_row(last + 1, cells)
    if table.currency_column is not None and table.local and not table.totals:
        for r, (currency, sums) in enumerate(_totals_by_currency(table), start=last + 2):
            e = exponent(currency)
            sheet.add_row(r, [xlsx.string_cell(f"A{r}", f"Total {currency}", STYLE["bold"]),
                              xlsx.string_cell(f"{letters[table.currency_column]}{r}", currency, STYLE["bold"]),
                              *(xlsx.number_cell(f"{letters[c]}{r}", minor_text(total, e), DECIMAL_STYLE[e])
                                for c, total in sorted(sums.items()))])
    return sheet


def write_close_pack(path: Path, month: str, run_id: str, cut_off: list[tuple[str, object]],
                     checks: list[tuple[str, str]], summary: list[tuple[str, object]], tables: list[Table]) -> Path:
    """The workbook, built in memory and put in place atomically (a reader sees the old one or this one)."""
    cover = Sheet("Cover", (44, 60))
    cover.add_row(1, [xlsx.string_cell("A1", f"Month close pack, {month}", STYLE["title"])])
    rows = [("Month", month), ("Run", run_id), *cut_off,
            ("Ties", "Tenant margin and Deployment margin totals = Summary revenue, cost of goods and gross "
                     "margin; Cost lines total = Summary cost of goods")]
    for r, (label, value) in enumerate(rows, start=3):
        text = value.isoformat(sep=" ") + " UTC" if isinstance(value, datetime) else str(value)
        cover.add_row(r, [xlsx.string_cell(f"A{r}", label, STYLE["bold"]), xlsx.string_cell(f"B{r}", text)], 1)
    first_check = len(rows) + 4
    cover.write_values(first_check, ("Asset check", "Latest result"), STYLE["header"])
    for r, check in enumerate(checks, start=first_check + 1):
        cover.write_values(r, check)

    summary_sheet = Sheet("Summary P&L", (44, 18), freeze_header=True)
    summary_sheet.write_values(1, ("USD", month), STYLE["header"])
    for r, (label, value) in enumerate(summary, start=2):
        if label.endswith("%"):
            summary_sheet.write_values(r, (label, "n/a" if value is None else f"{value}%"))
        else:
            summary_sheet.add_row(r, [xlsx.string_cell(f"A{r}", label),
                                      xlsx.number_cell(f"B{r}", minor_text(int(value or 0), 2), STYLE["usd"])], 1)
    return replace_atomically(path, xlsx.workbook_bytes([cover, summary_sheet, *map(_table_sheet, tables)]))
