"""The running month's estimate: the month close's own metering SQL and quote engine, run inside a
transaction that is always rolled back, on usage known at `as_of` with the event usage projected to
month end. Nothing of the month close's tables changes; the estimate's own tables are written after.

Why not a second implementation of the rules: an estimate that rates differently from the invoice is
worse than none. After the month's cut-off the run-rate is 1 and the estimate is the invoice, to the
minor unit (tests/revenue/estimates/test_estimates.py proves it)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from billing_assets.periods import aware, month_period, naive
from billing_assets.revenue.estimates.projection import (
    Reference,
    RunRate,
    crossed,
    percent_of,
    project_since,
    reference_for,
    to_usd_minor,
)
from billing_assets.revenue.invoicing.inputs import load_tenant_inputs, quote_tenant, refused_tenants
from billing_assets.revenue.invoicing.rating import Quote
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, run_sql


@dataclass(frozen=True)
class TenantEstimate:
    tenant_id: str
    quote: Quote
    previous_month_minor: int | None
    budget_minor: int | None
    reference: Reference | None
    subtotal_usd_minor: int | None

    @property
    def percent(self) -> Decimal | None:
        return percent_of(self.quote.total, self.reference) if self.reference else None


@dataclass
class Estimate:
    rate: RunRate
    tenants: list[TenantEstimate] = field(default_factory=list)
    usage: list[tuple] = field(default_factory=list)  # usage_to_date.sql rows
    refused: dict[str, str] = field(default_factory=dict)
    missing_fx: list[str] = field(default_factory=list)
    do_usage_minor: int | None = None
    do_generated_at: datetime | None = None

    @property
    def projected_revenue_usd_minor(self) -> int:
        return sum(t.subtotal_usd_minor or 0 for t in self.tenants)

    @property
    def projected_do_cost_usd_minor(self) -> int | None:
        if self.do_usage_minor is None or self.do_generated_at is None:
            return None
        return project_since(self.rate.month, self.do_generated_at, self.do_usage_minor)

    @property
    def projected_margin_usd_minor(self) -> int | None:
        cost = self.projected_do_cost_usd_minor
        return None if cost is None or self.missing_fx else self.projected_revenue_usd_minor - cost


def _quotes_known_at(conn, rate: RunRate, grace_hours: int) -> tuple[dict, list[tuple], dict[str, str]]:
    """Quotes per tenant and usage rows, computed in a transaction that is rolled back whatever happens."""
    month = rate.month
    start, end, as_of = naive(month.start), naive(month.end), naive(rate.as_of)
    conn.execute("BEGIN TRANSACTION")
    try:
        run_sql(conn, "estimates/known_at.sql", {"as_of": as_of})
        window = {"window_start": start, "window_end": end, "grace_hours": grace_hours}
        run_sql(conn, "metering/metered_usage.sql", window)
        run_sql(conn, "metering/billable_usage.sql", window)
        if not rate.complete:
            run_sql(conn, "estimates/project_event_usage.sql", {
                "period_start": start, "month_seconds": rate.month_seconds, "elapsed_seconds": rate.elapsed_seconds})
        usage = conn.execute(read_sql("estimates/usage_to_date.sql"), {"period_start": start, "as_of": as_of}).fetchall()
        refused = refused_tenants(conn)
        quotes = {tenant_id: quote_tenant(inputs, month) for tenant_id, inputs in load_tenant_inputs(conn, month).items()
                  if inputs.subscriptions and tenant_id not in refused}
    finally:
        conn.execute("ROLLBACK")
    return quotes, usage, refused


def estimate_month(conn, rate: RunRate, grace_hours: int) -> Estimate:
    """The estimate of `rate.month` as known at `rate.as_of`; writes nothing."""
    quotes, usage, refused = _quotes_known_at(conn, rate, grace_hours)
    month = rate.month
    before = month.start - timedelta(days=1)
    previous = month_period(before.year, before.month)
    references = {tenant_id: (budget, prior) for tenant_id, budget, prior in conn.execute(
        read_sql("estimates/tenant_references.sql"), {"previous_start": naive(previous.start)}).fetchall()}
    rates = dict(conn.execute(read_sql("estimates/usd_rates.sql"), {"month": month.label}).fetchall())
    estimate = Estimate(rate, usage=usage, refused=refused)
    for tenant_id, q in sorted(quotes.items()):
        budget, prior = references.get(tenant_id, (None, None))
        usd = to_usd_minor(q.subtotal, q.currency, rates.get(q.currency))
        if usd is None and q.currency not in estimate.missing_fx:
            estimate.missing_fx.append(q.currency)
        estimate.tenants.append(TenantEstimate(tenant_id, q, prior, budget, reference_for(budget, prior), usd))
    balance = conn.execute(read_sql("estimates/do_month_to_date.sql"), {
        "period_start": naive(month.start), "period_end": naive(month.end), "as_of": naive(rate.as_of)}).fetchone()
    if balance:
        estimate.do_usage_minor, generated = balance
        estimate.do_generated_at = aware(generated)
    return estimate


@dataclass(frozen=True)
class Alert:
    tenant_id: str
    threshold: int
    estimate: TenantEstimate


def new_alerts(conn, estimate: Estimate, thresholds: Mapping[str, tuple[int, ...]]) -> list[Alert]:
    """Crossings not yet reported this month (revenue.budget_alerts holds the reported ones), each tenant
    measured with the thresholds of its reference's kind (`budget`, `previous_month`). A threshold is
    reported once per tenant and month, whichever reference it was measured against."""
    reported = set(conn.execute("SELECT tenant_id, threshold_percent FROM revenue.budget_alerts "
                                "WHERE period_start = ?", [naive(estimate.rate.month.start)]).fetchall())
    return [Alert(t.tenant_id, threshold, t) for t in estimate.tenants if t.reference
            for threshold in crossed(t.quote.total, t.reference, thresholds[t.reference.kind])
            if (t.tenant_id, threshold) not in reported]


def write_estimate(conn, estimate: Estimate, alerts: list[Alert], computed_at: datetime) -> None:
    """Replace the month's estimate rows, add the run's summary and the new alerts (caller's transaction)."""
    period, as_of = naive(estimate.rate.month.start), naive(estimate.rate.as_of)
    for table in ("tenant_estimates", "estimate_lines", "estimate_usage"):
        conn.execute(f"DELETE FROM revenue.{table} WHERE period_start = ?", [period])  # noqa: S608 - constant names
    conn.execute("DELETE FROM revenue.estimate_runs WHERE period_start = ? AND as_of = ?", [period, as_of])
    insert_rows(conn, "revenue.tenant_estimates", [
        [period, t.tenant_id, as_of, t.quote.currency, t.quote.subtotal, t.quote.tax, t.quote.total,
         t.subtotal_usd_minor, t.previous_month_minor, t.budget_minor, t.reference.kind if t.reference else None,
         t.reference.amount_minor if t.reference else None, t.percent] for t in estimate.tenants])
    insert_rows(conn, "revenue.estimate_lines", [
        [period, t.tenant_id, n, line.kind, line.description, line.quantity, line.amount, line.deployment_id,
         line.subscription_id, line.metric]
        for t in estimate.tenants for n, line in enumerate(t.quote.lines, start=1)])
    insert_rows(conn, "revenue.estimate_usage", [[period, *row] for row in estimate.usage])
    insert_rows(conn, "revenue.estimate_runs", [[
        period, as_of, estimate.rate.elapsed_fraction, estimate.rate.complete, len(estimate.tenants),
        estimate.projected_revenue_usd_minor, ", ".join(sorted(estimate.missing_fx)) or None,
        estimate.do_usage_minor, naive(estimate.do_generated_at), estimate.projected_do_cost_usd_minor,
        estimate.projected_margin_usd_minor, naive(computed_at)]])
    insert_rows(conn, "revenue.budget_alerts", [
        [period, a.tenant_id, a.threshold, a.estimate.reference.kind, a.estimate.reference.amount_minor,
         a.estimate.quote.total, a.estimate.quote.currency, a.estimate.percent, as_of] for a in alerts])
