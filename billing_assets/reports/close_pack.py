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
from billing_assets.money import MoneyError, exponent, minor_text
from billing_assets.reports import xlsx
from billing_assets.reports.xlsx import DECIMAL_STYLE, STYLE, Sheet, Workbook
from billing_assets.sql_files import read_sql
from billing_assets.warehouse.connection import run_sql, used_params

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


# Stands for the row number in cells rendered by DuckDB (their refs are `A` || ROW): escaped text never
# holds a control character, so the one replacement per row cannot touch a cell's content.
ROW = "\x01"
_INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT"}


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def _cell_sql(letter: str, column: str, type_name: str, kind: str) -> str:
    """The SQL that renders one column's cell (sql/reports/xlsx_cells.sql), as _write_table did in Python:
    text as it is, numbers as their text, date-times as Excel serial days, money from minor units."""
    ref, value = f"'{letter}' || $row", _quoted(column)
    if kind == USD:
        return f"xlsx_number_cell({ref}, xlsx_minor_text(coalesce({value}, 0), 2), {STYLE['usd']})"
    if kind == LOCAL:  # the row's currency decides exponent and style: $exponents/$styles by $currencies
        return (f"xlsx_number_cell({ref}, xlsx_minor_text(coalesce({value}, 0), $exponents[_currency]), "
                f"$styles[_currency])")
    if type_name == "VARCHAR":
        return f"xlsx_string_cell({ref}, {value}, 0)"
    if type_name == "TIMESTAMP":
        return f"xlsx_datetime_cell({ref}, {value}, {STYLE['datetime']})"
    if type_name in _INTEGER_TYPES:
        return f"xlsx_number_cell({ref}, CAST({value} AS VARCHAR), 0)"
    if type_name.startswith("DECIMAL"):
        return f"xlsx_number_cell({ref}, xlsx_decimal_text({value}), 0)"
    raise xlsx.XlsxError(f"close pack column {column!r} is {type_name}: no cell rendering for that type")


def _over(query: str, select: str, tail: str = "") -> str:
    """`SELECT <select> FROM (<query>) <tail>`: every piece is our own SQL, a file of sql/reports and the
    column names DuckDB reported for it (quoted); the month is a parameter."""
    return f"SELECT {select} FROM ({query}) {tail}"  # noqa: S608


def _sums(columns: list[str], indexes: list[int]) -> str:
    return ", ".join(f"coalesce(sum({_quoted(columns[c])}), 0)" for c in indexes)


def _write_table(sheet: Sheet, table: Table, conn: duckdb.DuckDBPyConnection, month: str) -> int:
    """Header, the rows (DuckDB renders each row's cells; only the row number is put in here), then the
    totals: SUBTOTAL formulas over USD columns, or sums per currency (an invoice total has no meaning
    across currencies). Returns the rows written."""
    query, params = read_sql(f"reports/close_pack_{table.query}.sql"), {"month_start": f"{month}-01"}
    types = {name: str(type_) for name, type_, *_ in conn.execute(_over(query, "*", "LIMIT 0"), params).description}
    columns = list(types)
    letters = [xlsx.column_letter(c) for c in range(len(columns))]
    sheet.add_row(1, [xlsx.string_cell(f"{letters[c]}1", h, STYLE["header"]) for c, h in enumerate(table.headers)])

    currency = _quoted(columns[table.currency_column]) if table.currency_column is not None else "NULL"
    codes = [code for (code,) in conn.execute(_over(query, f"DISTINCT {currency}", "ORDER BY 1"), params).fetchall()]
    if table.currency_column is not None and None in codes:
        raise MoneyError(f"close pack sheet {table.sheet!r}: amounts without a currency; the marts must give each one")
    exponents = {code: exponent(code) for code in codes if code is not None}  # an unknown currency stops the pack
    cells = " || ".join(
        _cell_sql(letters[c], name, types[name], USD if c in table.usd else LOCAL if c in table.local else PLAIN)
        for c, name in enumerate(columns))
    render = _over(_over(query, f"*, list_position($currencies, {currency}) AS _currency"), cells)
    rendered = conn.execute(render, used_params(render, {
        **params, "row": ROW, "currencies": list(exponents), "exponents": list(exponents.values()),
        "styles": [DECIMAL_STYLE[e] for e in exponents.values()]}))
    r = 1
    while batch := rendered.fetchmany(FETCH_ROWS):
        for (row_cells,) in batch:
            r += 1
            sheet.add_row(r, (row_cells.replace(ROW, str(r)),))
    last = r  # the last data row
    sheet.autofilter = (max(last, 2), len(columns) - 1)
    if table.totals:
        totals = sorted(table.totals)
        cells = [xlsx.string_cell(f"A{last + 1}", "Total", STYLE["bold"])]
        for c, total in zip(totals, conn.execute(_over(query, _sums(columns, totals)), params).fetchone(), strict=True):
            column = letters[c]
            cells.append(xlsx.formula_cell(f"{column}{last + 1}", f"SUBTOTAL(109,{column}2:{column}{max(last, 2)})",
                                           minor_text(int(total), 2), STYLE["usd_total"]))
        sheet.add_row(last + 1, cells)
    elif table.local:
        local = sorted(table.local)
        by_currency = conn.execute(_over(query, f"{currency}, {_sums(columns, local)}", "GROUP BY 1 ORDER BY 1"),
                                   params).fetchall()
        for r, (code, *sums) in enumerate(by_currency, start=last + 2):
            e = exponents[code]
            sheet.add_row(r, [xlsx.string_cell(f"A{r}", f"Total {code}", STYLE["bold"]),
                              xlsx.string_cell(f"{letters[table.currency_column]}{r}", code, STYLE["bold"]),
                              *(xlsx.number_cell(f"{letters[c]}{r}", minor_text(int(total), e), DECIMAL_STYLE[e])
                                for c, total in zip(local, sums, strict=True))])
    return last - 1


def write_close_pack(path: Path, conn: duckdb.DuckDBPyConnection, month: str, run_id: str,
                     cut_off: list[tuple[str, object]], checks: list[tuple[str, str]]) -> int:
    """The workbook, streamed to a temporary file and renamed into place (a reader sees the old pack or
    this one); the tables are read from the analysts' copy. Returns the table rows written."""
    written = 0
    run_sql(conn, "reports/xlsx_cells.sql")
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
                written += _write_table(sheet, table, conn, month)
    return written
