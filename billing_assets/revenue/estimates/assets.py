"""The running month, hourly: each tenant's projected invoice (per deployment and metric), bill-shock
alerts against its budget or last month, and the live margin beside DigitalOcean's month-to-date balance."""

from datetime import UTC, datetime, timedelta

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import DUCKDB_POOL, md_table, refuse, table_schema
from billing_assets.money import format_money
from billing_assets.periods import PeriodError, parse_month
from billing_assets.revenue.estimates.estimate import (
    Alert,
    Estimate,
    estimate_month,
    new_alerts,
    write_estimate,
)
from billing_assets.revenue.estimates.projection import (
    BUDGET_THRESHOLDS,
    PREVIOUS_MONTH_THRESHOLDS,
    EstimateError,
    RunRate,
    check_thresholds,
)
from billing_assets.revenue.metering.assets import LATE_USAGE_GRACE_HOURS
from billing_assets.source.assets import SNAPSHOT_TABLES
from billing_assets.warehouse import markdown_preview, transaction
from billing_assets.warehouse.resource import WarehouseResource

BALANCE_STALE_AFTER = timedelta(hours=2)  # the balance is fetched hourly: two missed hours are worth a look


class EstimateConfig(dg.Config):
    as_of: str = Field(default="", description="When to estimate at (ISO with an offset, e.g. 2026-10-15T12:00:00Z); "
                                               "empty: now. An earlier hour replays what was known then.")
    month: str = Field(default="", description="Month to estimate, YYYY-MM; empty: the month of as_of.")
    late_usage_grace_hours: int = Field(default=LATE_USAGE_GRACE_HOURS, ge=0, le=24 * 31,
                                        description="The month close's cut-off grace (metered_usage's setting).")
    alert_thresholds_percent: list[int] = Field(default=list(BUDGET_THRESHOLDS),
                                                description="Percent of the tenant's budget at which a projection "
                                                            "raises an alert, once per month.")
    previous_month_alert_thresholds_percent: list[int] = Field(
        default=list(PREVIOUS_MONTH_THRESHOLDS),
        description="For a tenant without a budget: percent of last month's total at which a projection raises an "
                    "alert, once per month. Above 100: a steady tenant reaches 100% of last month every month.")
    alert_after_hours: int = Field(default=24, ge=0, description="No alert before the month has run this long: a "
                                                                 "run-rate of its first hours is noise.")


def parse_as_of(text: str) -> datetime:
    example = "write ISO 8601 with an offset, e.g. 2026-10-15T12:00:00Z"
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise refuse(f"as_of: {text!r} is not a timestamp; {example}") from None
    if parsed.tzinfo is None:
        raise refuse(f"as_of: {text!r} has no UTC offset (a naive time is ambiguous); {example}")
    return parsed.astimezone(UTC)


def run_rate_of(config: EstimateConfig, now: datetime) -> RunRate:
    as_of = parse_as_of(config.as_of) if config.as_of.strip() else now
    try:
        month = parse_month(config.month) if config.month.strip() else parse_month(f"{as_of:%Y-%m}")
    except PeriodError as exc:
        raise refuse(f"month: {exc}") from None
    try:
        return RunRate(month, as_of)
    except EstimateError as exc:
        raise refuse(str(exc)) from None


def _alert_rows(alerts: list[Alert], slugs: dict[str, str]) -> list[tuple]:
    rows = []
    for a in alerts:
        currency, reference = a.estimate.quote.currency, a.estimate.reference
        rows.append((slugs.get(a.tenant_id, a.tenant_id), f"{a.threshold}%", format_money(a.estimate.quote.total, currency),
                     f"{reference.kind} {format_money(reference.amount_minor, currency)}", f"{a.estimate.percent}%"))
    return rows


def _margin_metadata(estimate: Estimate) -> dict[str, object]:
    return {"projected_revenue_usd_minor": estimate.projected_revenue_usd_minor,
            "do_month_to_date_usage_minor": estimate.do_usage_minor,
            "do_balance_generated_at": estimate.do_generated_at.isoformat() if estimate.do_generated_at else None,
            "projected_do_cost_usd_minor": estimate.projected_do_cost_usd_minor,
            "projected_margin_usd_minor": estimate.projected_margin_usd_minor,
            "currencies_without_usd_rate": ", ".join(estimate.missing_fx) or "none"}


@dg.asset(
    group_name="revenue", owners=["team:billing"], kinds={"sql", "duckdb"}, pool=DUCKDB_POOL,
    deps=[*SNAPSHOT_TABLES, "source_usage_events", "do_balance_snapshots", "tenant_invoices"],
    check_specs=[
        dg.AssetCheckSpec("no_new_bill_shock", asset="month_to_date_estimate",
                          description="Tenants whose projected invoice crossed 50/80/100% of their budget, or "
                                      "120/150/200% of last month's total, since the last run: each crossing once "
                                      "per month (WARN)."),
        dg.AssetCheckSpec("do_balance_current", asset="month_to_date_estimate",
                          description="The live margin uses a DigitalOcean balance of this month fetched within the "
                                      "last two hours (WARN: the hourly balance job has stopped or failed)."),
    ],
)
def month_to_date_estimate(context: dg.AssetExecutionContext, config: EstimateConfig, warehouse: WarehouseResource):
    """Each tenant's invoice for the running month as it is heading: usage so far under the month close's
    own rules (dedup, reversals, cut-off, attribution, never a trial), event usage projected at its
    run-rate to month end, running resources counted to month end, rated by the same quote engine
    (revenue.tenant_estimates, estimate_lines, estimate_usage); compared with the tenant's budget or last
    month's total (revenue.budget_alerts); and the projected revenue beside DigitalOcean's month-to-date
    balance (revenue.estimate_runs). After the month's cut-off it equals the month close's invoice."""
    now = datetime.now(UTC)
    rate = run_rate_of(config, now)
    try:
        thresholds = {"budget": check_thresholds(config.alert_thresholds_percent),
                      "previous_month": check_thresholds(config.previous_month_alert_thresholds_percent,
                                                         "previous_month_alert_thresholds_percent")}
    except EstimateError as exc:
        raise refuse(str(exc)) from None
    with warehouse.connect() as conn:
        estimate = estimate_month(conn, rate, config.late_usage_grace_hours)
        alerting = rate.elapsed_seconds >= config.alert_after_hours * 3600
        with transaction(conn):
            alerts = new_alerts(conn, estimate, thresholds) if alerting else []
            write_estimate(conn, estimate, alerts, now)
        slugs = dict(conn.execute("SELECT tenant_id, slug FROM staging.tenants").fetchall())
        params = {"period_start": rate.month.start.replace(tzinfo=None)}
        preview = markdown_preview(
            conn, "SELECT tenant_slug, currency, total_minor, previous_month_minor, budget_minor, reference_kind, "
                  "percent_of_reference FROM marts.month_to_date_tenants WHERE period_start = $period_start "
                  "ORDER BY percent_of_reference DESC NULLS LAST, tenant_slug", params, limit=30)
        schema = table_schema(conn, "revenue.tenant_estimates")
    context.log.info(f"{rate.month.label} as of {rate.as_of:%Y-%m-%d %H:%M} UTC ({rate.elapsed_fraction:.1%} run): "
                     f"{len(estimate.tenants)} tenants, {len(alerts)} new alert(s)")
    yield dg.MaterializeResult(metadata={
        "month": rate.month.label, "as_of": rate.as_of.isoformat(), "elapsed_fraction": float(rate.elapsed_fraction),
        "complete": rate.complete, "dagster/row_count": len(estimate.tenants), "dagster/column_schema": schema,
        "usage_rows": len(estimate.usage), "not_estimated_source_rows_refused": len(estimate.refused),
        "alerts_held_until": "none" if alerting else
        (rate.month.start + timedelta(hours=config.alert_after_hours)).isoformat(),
        **_margin_metadata(estimate), "preview": dg.MetadataValue.md(preview)})
    yield dg.AssetCheckResult(
        check_name="no_new_bill_shock", passed=not alerts, severity=dg.AssetCheckSeverity.WARN,
        metadata={"new_alerts": len(alerts), "details": dg.MetadataValue.md(md_table(
            _alert_rows(alerts, slugs), ("tenant", "threshold", "projected total", "reference", "of reference"))
            if alerts else "none")})
    generated = estimate.do_generated_at
    current = generated is not None and (rate.complete or rate.as_of - generated <= BALANCE_STALE_AFTER)
    yield dg.AssetCheckResult(
        check_name="do_balance_current", passed=current, severity=dg.AssetCheckSeverity.WARN,
        metadata={"do_balance_generated_at": generated.isoformat() if generated else "no balance this month"})


# The analysts' copy is refreshed after the estimate, so marts.month_to_date_* there are this hour's.
month_to_date_hourly = dg.define_asset_job(
    "month_to_date_hourly",
    selection=[*SNAPSHOT_TABLES, "source_usage_events", "month_to_date_estimate", "analyst_warehouse"],
    description="Refresh the source snapshot, estimate the running month and raise bill-shock alerts, then "
                "refresh the analysts' copy of the warehouse.")
