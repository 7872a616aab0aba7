"""Cost vs revenue marts (their analyst exports are the reports group's), and the month's reconciliation report."""

import csv
import io
from datetime import datetime
from decimal import Decimal, InvalidOperation
from importlib.resources import files
from pathlib import Path

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import (
    MONTHLY,
    md_bullets,
    md_table,
    month_window,
    monthly_results,
    results_by_month,
    table_schema,
)
from billing_assets.margin.chart import revenue_cost_markdown, revenue_cost_svg
from billing_assets.memory import collector_paused
from billing_assets.money import CURRENCY_EXPONENTS, minor_to_major
from billing_assets.periods import Period, aware, months_in, naive
from billing_assets.revenue.invoicing import store
from billing_assets.revenue.invoicing.inputs import load_tenant_inputs, quote_tenant
from billing_assets.settings import locations
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, run_sql, transaction
from billing_assets.warehouse.resource import WarehouseResource

COMMON = {"group_name": "margin", "owners": ["team:finance"]}
SHIPPED_FX_RATES = "fx_rates.csv"  # package data of billing_assets.margin
MART_TABLES = ("deployment_margin", "tenant_margin", "monthly_pnl")


class MarginConfig(dg.Config):
    fx_rates_csv: str | None = Field(default=None, description="CSV of currency,month (YYYY-MM),usd_per_unit: "
                                     "the USD value of one unit of each non-USD invoice currency, per month. "
                                     "Unset: the deployment's table (BILLING_FX_RATES_CSV), else the one shipped "
                                     "with the package (billing_assets/margin/fx_rates.csv).")


def fx_rates_source(configured: str | None) -> tuple[str, Path | None]:
    """Which FX table a run reads, named as the operator set it: run config `fx_rates_csv`, else the
    deployment's BILLING_FX_RATES_CSV (what a scheduled close reads), else the shipped one (path None)."""
    if configured is not None:
        return f"fx_rates_csv {configured}", Path(configured)
    if deployed := locations().fx_rates_csv:
        return f"BILLING_FX_RATES_CSV {deployed}", Path(deployed)
    return f"billing_assets.margin/{SHIPPED_FX_RATES}", None


def fx_rates_text(configured: str | None) -> tuple[str, str]:
    """(name, CSV text) of the FX table fx_rates_source chooses."""
    name, path = fx_rates_source(configured)
    if path is None:
        return name, (files("billing_assets.margin") / SHIPPED_FX_RATES).read_text()
    if not path.is_file():
        raise dg.Failure(f"{name} does not exist", allow_retries=False)
    return str(path), path.read_text(encoding="utf-8")


def parse_fx_rates(name: str, text: str) -> list[tuple[str, str, Decimal]]:
    """Header-keyed rows with exact, positive rates; a bad row fails naming the file and line."""
    rows = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text, newline="")), start=2):
        try:
            rate = Decimal(row["usd_per_unit"].strip())
            if not rate.is_finite() or rate <= 0:
                raise InvalidOperation
            rows.append((row["currency"].strip(), row["month"].strip(), rate))
        except (KeyError, AttributeError, InvalidOperation):
            raise dg.Failure(f"{name} line {line}: needs currency, month and a positive usd_per_unit, got {row}",
                             allow_retries=False) from None
    return rows


def load_reference_data(conn, fx_rates_csv: str | None) -> None:
    """Currency exponents from billing_assets.money and monthly FX rates from the FX table."""
    rows = parse_fx_rates(*fx_rates_text(fx_rates_csv))
    conn.execute("DELETE FROM margin.currency_exponents")
    insert_rows(conn, "margin.currency_exponents", sorted(CURRENCY_EXPONENTS.items()))
    conn.execute("DELETE FROM margin.fx_rates")
    insert_rows(conn, "margin.fx_rates", rows)


def month_metadata(conn, month: Period, charts: Path) -> dict[str, dict[str, object]]:
    """Each mart's metadata for one month: row count, previews, and the revenue-vs-cost chart (inline
    on the page, and as an SVG kept per month in the exports)."""
    params = {"window_start": naive(month.start), "window_end": naive(month.end)}
    bars = conn.execute(read_sql("marts/chart_rows.sql"), {"month_start": params["window_start"]}).fetchall()
    title = f"Revenue vs cost per deployment, {month.label} (USD)"
    chart_path = charts / f"deployment_margin_chart_{month.label}.svg"
    chart_path.write_text(revenue_cost_svg(title, bars))
    counts = {t: conn.execute(f"SELECT count(*) FROM margin.{t} WHERE period_start >= $window_start AND "  # noqa: S608
                              "period_start < $window_end", params).fetchone()[0] for t in MART_TABLES}
    ranked = {d: markdown_preview(conn, read_sql("marts/top_bottom.sql"), {**params, "direction": d}, limit=5)
              for d in ("top", "bottom")}
    pnl = markdown_preview(conn, "SELECT strftime(period_start, '%Y-%m') AS month, * EXCLUDE (period_start) "
                                 "FROM margin.monthly_pnl WHERE period_start >= $window_start AND "
                                 "period_start < $window_end ORDER BY 1", params, limit=36)
    return {
        "deployment_margin": {
            "dagster/row_count": counts["deployment_margin"], "month": month.label,
            "revenue_vs_cost_chart": dg.MetadataValue.md(revenue_cost_markdown(title, bars)),
            "chart_file": dg.MetadataValue.path(str(chart_path)),
            "top_deployments_by_margin": dg.MetadataValue.md(ranked["top"]),
            "bottom_deployments_by_margin": dg.MetadataValue.md(ranked["bottom"])},
        "tenant_margin": {"dagster/row_count": counts["tenant_margin"], "month": month.label},
        "monthly_pnl": {"dagster/row_count": counts["monthly_pnl"], "month": month.label,
                        "preview": dg.MetadataValue.md(pnl)},
    }


@dg.multi_asset(
    specs=[dg.AssetSpec("deployment_margin", description="Revenue (issued, net of tax and credits), cost and "
                        "margin per month, tenant, deployment and resource kind; unallocated cost as its own rows.",
                        deps=["tenant_invoices", "deployment_costs"], kinds={"duckdb", "sql"}, **COMMON),
           dg.AssetSpec("tenant_margin", description="Revenue, cost and margin per month and tenant.",
                        deps=["deployment_margin"], kinds={"duckdb", "sql"}, **COMMON),
           dg.AssetSpec("monthly_pnl", description="Per month: revenue, credits, cost of goods, gross margin, tax "
                        "collected vs provider tax paid, unallocated cost.", deps=["deployment_margin"],
                        kinds={"duckdb", "sql"}, **COMMON)],
    check_specs=[
        dg.AssetCheckSpec("fx_rates_present", asset="deployment_margin", blocking=True,
                          description="Every non-USD invoice currency has a USD rate for its month."),
        dg.AssetCheckSpec("cost_ties_to_bill", asset="deployment_margin",
                          description="Cost in the mart (unallocated included) equals the DigitalOcean invoice."),
        dg.AssetCheckSpec("revenue_ties_to_invoices", asset="deployment_margin",
                          description="Revenue in the mart equals issued subtotals less credit notes, per currency."),
        dg.AssetCheckSpec("negative_margin", asset="deployment_margin",
                          description="WARN: deployments and tenants whose revenue in the month was below their "
                                      "cost, with revenue, cost and the resource kind that cost the most."),
    ],
    **MONTHLY,
)
def margin_marts(context: dg.AssetExecutionContext, config: MarginConfig, warehouse: WarehouseResource):
    """Cost vs revenue per deployment, tenant and month, in USD (FX from the package's fx_rates.csv or run config fx_rates_csv)."""
    start, end = month_window(context)
    params = {"window_start": start, "window_end": end}
    charts = Path(warehouse.exports_dir) / "marts"
    with warehouse.connect() as conn:
        with transaction(conn):
            load_reference_data(conn, config.fx_rates_csv)
            missing = conn.execute(read_sql("marts/missing_fx.sql"), params).fetchall()
            run_sql(conn, "marts/usd_minor.sql")
            run_sql(conn, "marts/revenue_lines.sql", params)
            if not missing:
                for table in MART_TABLES:
                    run_sql(conn, f"marts/{table}.sql", params)
        cost_drift = conn.execute(read_sql("marts/check_cost.sql"), params).fetchall()
        revenue_drift = conn.execute(read_sql("marts/check_revenue.sql"), params).fetchall()
        months = months_in(Period(aware(start), aware(end)))
        charts.mkdir(parents=True, exist_ok=True)
        by_month = {f"{m.start:%Y-%m-%d}": month_metadata(conn, m, charts) for m in months}
        losses = conn.execute(read_sql("marts/negative_margin.sql"), params).fetchall()
        schemas = {t: table_schema(conn, f"margin.{t}") for t in MART_TABLES}
    if missing:
        name, path = fx_rates_source(config.fx_rates_csv)
        fx_table = (name if path else "a copy of billing_assets/margin/fx_rates.csv named in BILLING_FX_RATES_CSV "
                    "(or, for one run, in run config fx_rates_csv)")
        yield dg.AssetCheckResult(asset_key="deployment_margin", check_name="fx_rates_present", passed=False,
                                  severity=dg.AssetCheckSeverity.ERROR, metadata={"missing": dg.MetadataValue.md(
                                      md_bullets([f"{c} {m}: add a row to {fx_table}" for c, m in missing]))})
        raise dg.Failure(f"no USD rate for {', '.join(f'{c} {m}' for c, m in missing)}: add them to {fx_table}",
                         allow_retries=False)
    yield from results_by_month(context, {
        table: {"dagster/column_schema": schemas[table]}
        for table in MART_TABLES}, by_month)
    yield dg.AssetCheckResult(asset_key="deployment_margin", check_name="negative_margin", passed=not losses,
                              severity=dg.AssetCheckSeverity.WARN, metadata={
                                  "findings": len(losses), "details": dg.MetadataValue.md(loss_table(losses))})
    yield dg.AssetCheckResult(asset_key="deployment_margin", check_name="fx_rates_present", passed=True)
    for name, drift in (("cost_ties_to_bill", cost_drift), ("revenue_ties_to_invoices", revenue_drift)):
        yield dg.AssetCheckResult(asset_key="deployment_margin", check_name=name, passed=not drift,
                                  severity=dg.AssetCheckSeverity.ERROR, metadata={
                                      "findings": len(drift),
                                      "details": dg.MetadataValue.md(md_bullets([" ".join(map(str, d)) for d in drift]))})


def loss_table(losses: list[tuple]) -> str:
    """The negative-margin findings as a markdown table, USD with cents."""
    if not losses:
        return "no deployment or tenant lost money"
    usd = lambda cents: f"{minor_to_major(cents, 'USD'):,}"  # noqa: E731
    lines = ["| month | level | tenant | deployment | revenue | cost | margin | driver |", "|---|---|---|---|---|---|---|---|"]
    lines += [f"| {m} | {level} | {tenant} | {deployment or ''} | {usd(r)} | {usd(c)} | {usd(margin)} | {driver} |"
              for m, level, tenant, deployment, r, c, margin, driver in losses]
    return "\n".join(lines)


# --- reconciliation ------------------------------------------------------------------------------

def invoice_drift(conn, month: Period) -> list[tuple[str, int]]:
    """Tenants whose current inputs rate differently from everything billed so far (drafts included)."""
    drift = []
    existing = store.existing_documents(conn, month)
    for inputs in load_tenant_inputs(conn, month).values():
        if not inputs.subscriptions:
            continue
        desired = quote_tenant(inputs, month).total
        docs = existing.get(inputs.tenant.tenant_id, [])
        billed = sum(d.total for d in docs)
        if docs and desired != billed:
            drift.append((inputs.tenant.slug, desired - billed))
    return drift


def report_metadata(conn, month_start: datetime) -> dict[str, object]:
    """One month's report for its partition's page."""
    rows = conn.execute("SELECT step, expected, actual, drift_minor, details FROM margin.reconciliation_report "
                        "WHERE period_start = ? ORDER BY step", [month_start]).fetchall()
    return {"dagster/row_count": len(rows), "steps_with_drift": sum(1 for r in rows if r[3]),
            "report": dg.MetadataValue.md(md_table(rows, ("step", "expected", "actual", "drift_minor", "details")))}


@dg.asset(**COMMON, **MONTHLY, kinds={"duckdb", "sql"},
          deps=["metered_usage", "tenant_invoices", "deployment_costs", "deployment_margin", "stripe_payments"],
          check_specs=[dg.AssetCheckSpec("no_drift", asset="reconciliation_report",
                                         description="Every reconciliation step of the month has zero drift.")])
def reconciliation_report(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Per month, each hop from source to mart with its drift (zero, or listed with the ids to investigate):
    usage events -> metered usage; metered usage -> invoiced; DigitalOcean invoice -> cost lines ->
    deployment costs + unallocated; issued invoices -> mart revenue; issued invoices -> collected."""
    start, end = month_window(context)
    params = {"window_start": start, "window_end": end}
    with warehouse.connect() as conn:
        steps = conn.execute(read_sql("marts/reconciliation_steps.sql"), params).fetchall()
        rows = [list(s) for s in steps]
        for month in months_in(Period(aware(start), aware(end))):
            with collector_paused():
                drift = invoice_drift(conn, month)
            rows.append([month.start.replace(tzinfo=None), "2 metered usage -> invoiced", "rated from current inputs",
                         "billed (drafts, issued, corrections)", sum(abs(d) for _, d in drift),
                         "; ".join(f"{t}: {d:+d} minor units (re-run tenant_invoices)" for t, d in drift) or None])
        rows.sort(key=lambda r: (r[0], r[1]))
        with transaction(conn):
            conn.execute("DELETE FROM margin.reconciliation_report WHERE period_start >= ? AND period_start < ?",
                         [start, end])
            insert_rows(conn, "margin.reconciliation_report", rows)
        schema = table_schema(conn, "margin.reconciliation_report")
        yield from monthly_results(context, {"dagster/column_schema": schema},
                                   lambda month_start, _: report_metadata(conn, month_start))
    drifting = [r for r in rows if r[4]]
    yield dg.AssetCheckResult(check_name="no_drift", passed=not drifting, severity=dg.AssetCheckSeverity.WARN,
                              metadata={"drifting_steps": dg.MetadataValue.md(md_bullets(
                                  [f"{r[0]:%Y-%m} {r[1]}: {r[4]} — {r[5]}" for r in drifting]))})
