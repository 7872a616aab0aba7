"""Exports an analyst can use as they are: one Parquet and one CSV per table and month, and one file
of all months, with exact decimal amounts beside the minor units and ISO dates.

Why decimals are added here and not in the marts: the warehouse keeps integer minor units (the
invariant every check relies on); a person reading a CSV wants 12.34. Each `<name>_minor` column gets
a `<name>` column right after it: `*_usd_minor` in US dollars, others in the row's `currency` at its
ISO 4217 exponent, as DECIMAL(38, s) with s the largest exponent among the currencies present, so
every value is exact (JPY 1234 is 1234.00 beside USD 12.34). Month columns (`period_*`) become DATEs;
other timestamps stay timestamps and are written `2026-04-30T23:00:00Z` in the CSV.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from billing_assets.exports import EXPORT_BATCH_ROWS, write_exports
from billing_assets.money import CURRENCY_EXPONENTS
from billing_assets.sql_files import read_sql

EXPORTS = ("monthly_pnl", "tenant_margin", "deployment_margin", "reconciliation_report", "tenant_invoices",
           "tenant_invoice_lines", "deployment_costs")
CSV_TIMESTAMP = "%Y-%m-%dT%H:%M:%SZ"


def _factor(currency_column: str) -> str:
    """SQL for the major units per minor unit of the row's currency (0.01 for USD, 1 for JPY)."""
    cases = " ".join(f"WHEN '{code}' THEN {10 ** -e:.{e}f}" for code, e in sorted(CURRENCY_EXPONENTS.items()))
    return f'(CASE "{currency_column}" {cases} END)'


def _scale(relation: duckdb.DuckDBPyRelation) -> int:
    if "currency" not in relation.columns:
        return 2
    codes = [c for (c,) in relation.select("currency").distinct().fetchall() if c]
    return max([CURRENCY_EXPONENTS.get(c, 2) for c in codes] or [2])


def analyst_relation(conn: duckdb.DuckDBPyConnection, name: str, start: datetime,
                     end: datetime) -> duckdb.DuckDBPyRelation:
    """The export of `name` for [start, end): sql/reports/export_<name>.sql with decimal amounts added.

    The outer SELECT is built from the query's own column names and types (never from data)."""
    base = conn.sql(read_sql(f"reports/export_{name}.sql"), params={"window_start": start, "window_end": end})
    scale = _scale(base)
    columns = []
    for column, dtype in zip(base.columns, base.types, strict=True):
        quoted = f'"{column}"'
        if column.startswith("period_") and str(dtype) == "TIMESTAMP":
            columns.append(f"CAST({quoted} AS DATE) AS {quoted}")
            continue
        columns.append(quoted)
        if not column.endswith("_minor"):
            continue
        major = column.removesuffix("_minor")
        extra = int(str(dtype).split(",")[1].rstrip(")")) if str(dtype).startswith("DECIMAL") else 0
        if column.endswith("_usd_minor"):
            columns.append(f'CAST({quoted} * 0.01 AS DECIMAL(38, {2 + extra})) AS "{major}"')
        elif "currency" in base.columns:
            columns.append(f'CAST({quoted} * {_factor("currency")} AS DECIMAL(38, {scale + extra})) AS "{major}"')
    return base.select(", ".join(columns))


def write_analyst_exports(conn: duckdb.DuckDBPyConnection, folder: Path, months: list[tuple[str, datetime, datetime]],
                          first: datetime, last: datetime) -> dict[str, list[tuple[Path, int]]]:
    """Every export for each month (`<name>_YYYY-MM`) and for all months (`<name>_all`); returns the
    files written, with their row counts, per month label (and `all`)."""
    written: dict[str, list[tuple[Path, int]]] = {}
    for name in EXPORTS:
        for label, start, end in [*months, ("all", first, last)]:
            batches = analyst_relation(conn, name, start, end).to_arrow_reader(EXPORT_BATCH_ROWS)
            paths, rows = write_exports(batches, folder, f"{name}_{label}", csv_options={
                "datetime_format": CSV_TIMESTAMP, "date_format": "%Y-%m-%d"})
            written.setdefault(label, []).extend((path, rows) for path in paths)
    return written
