"""The close pack read back with openpyxl: sheets, formats, and totals that equal the marts."""

from decimal import Decimal

import duckdb
import openpyxl
import pytest

from billing_assets.money import MoneyError
from billing_assets.reports import xlsx
from billing_assets.reports.close_pack import TABLES, _write_table
from billing_assets.warehouse.connection import run_sql
from tests.reports.test_exports_and_queries import MONTHS


def workbook(env, month: str, values: bool = True):
    return openpyxl.load_workbook(env.root / "exports" / "close_pack" / f"close_pack_{month}.xlsx", data_only=values)


def cents(value) -> int:
    return int((Decimal(str(value)) * 100).to_integral_value())


def total_row(sheet) -> list:
    (row,) = [r for r in sheet.iter_rows(values_only=True) if r[0] == "Total"]
    return list(row)


def test_a_close_pack_per_month_with_every_sheet(year):
    for month in MONTHS:
        book = workbook(year, month)
        assert book.sheetnames == ["Cover", "Summary P&L", "Tenant margin", "Deployment margin", "Invoices",
                                   "Invoice lines", "Cost lines", "Reconciliation"], month


def test_totals_tie_to_the_marts_and_the_summary(year):
    with duckdb.connect(str(year.root / "exports" / "warehouse.duckdb"), read_only=True) as conn:
        revenue, cost, margin = conn.execute(
            "SELECT revenue_usd_minor, cost_of_goods_usd_minor, gross_margin_usd_minor FROM marts.monthly_pnl "
            "WHERE period_start = '2026-10-01'").fetchone()
        invoice_totals = dict(conn.execute(
            "SELECT currency, sum(total_minor) FROM marts.tenant_invoices WHERE period_start = '2026-10-01' "
            "GROUP BY 1").fetchall())
        lines = conn.execute("SELECT count(*) FROM ingest.do_cost_lines WHERE period_start = '2026-10-01'").fetchone()[0]
    book = workbook(year, "2026-10")
    summary = {label: value for label, value in book["Summary P&L"].iter_rows(min_row=2, values_only=True)}
    assert cents(summary["Revenue (issued, net of tax and credits)"]) == revenue
    assert cents(summary["Cost of goods (DigitalOcean bill)"]) == cost
    assert cents(summary["Gross margin"]) == margin == revenue - cost
    tenants = total_row(book["Tenant margin"])
    assert [cents(v) for v in tenants[3:6]] == [revenue, cost, margin]
    deployments = total_row(book["Deployment margin"])
    assert [cents(v) for v in deployments[4:7]] == [revenue, cost, margin]
    cost_lines = book["Cost lines"]
    assert cents(total_row(cost_lines)[5]) == cost and cost_lines.max_row == lines + 2  # header, lines, total
    invoices = {r[4]: r[7] for r in book["Invoices"].iter_rows(values_only=True) if str(r[0]).startswith("Total ")}
    assert {currency: round(Decimal(str(v)) * (1 if currency == "JPY" else 100)) for currency, v in invoices.items()
            } == invoice_totals


def test_sheets_are_formatted_for_finance(year):
    book = workbook(year, "2026-10", values=False)
    tenant_margin = book["Tenant margin"]
    assert tenant_margin.freeze_panes == "A2" and tenant_margin.auto_filter.ref.startswith("A1:G")
    assert tenant_margin["D2"].number_format.startswith('"$"#,##0.00')
    (total,) = [r for r in tenant_margin.iter_rows() if r[0].value == "Total"]
    assert total[3].value.startswith("=SUBTOTAL(109,D2:D")  # a live formula, its value cached for readers
    invoices = book["Invoices"]
    currencies = {row[4].value: row[7].number_format for row in invoices.iter_rows(min_row=2) if row[4].value}
    assert currencies["JPY"] == "#,##0" and currencies["USD"] == "#,##0.00"
    cover = {r[0]: r[1] for r in book["Cover"].iter_rows(min_row=3, values_only=True) if r[0]}
    assert cover["Month"] == "2026-10" and len(cover["Run"]) == 36
    assert cover["Source snapshot taken at"].endswith("UTC")
    assert cover["tenant_invoices:issued_invoices_unchanged"] == "passed"
    assert cover["deployment_margin:negative_margin"] == "FAILED (WARN)"  # luxor-infer loses money in October


def test_an_amount_without_a_known_currency_stops_the_pack(tmp_path):
    """The Invoices sheet formats each amount by its row's currency: a row without one, or with one the money
    module does not know, fails the pack naming it, never a sheet with the amount left out."""
    (invoices,) = [t for t in TABLES if t.query == "invoices"]
    for currency, message in ((None, "Invoices.*amounts without a currency"), ("XTS", "unknown currency 'XTS'")):
        with duckdb.connect() as conn:
            run_sql(conn, "reports/xlsx_cells.sql")
            conn.execute("CREATE SCHEMA marts")
            conn.execute("CREATE TABLE marts.tenant_invoices AS SELECT 'INV-1' AS invoice_number, 'acme' AS tenant_slug, "
                         "'invoice' AS document_type, 'issued' AS status, CAST($currency AS VARCHAR) AS currency, "
                         "1000 AS subtotal_minor, 100 AS tax_minor, 1100 AS total_minor, "
                         "TIMESTAMP '2026-11-01 03:00:00' AS issued_at, DATE '2026-10-01' AS period_start, "
                         "0 AS correction_seq", {"currency": currency})
            with pytest.raises(MoneyError, match=message), xlsx.Workbook(tmp_path / "pack.xlsx") as book, \
                    book.sheet("Invoices") as sheet:
                _write_table(sheet, invoices, conn, "2026-10")
