"""Credits: consumption order, carry-over, expiry, reset, caps, currencies, tax after credits, the ledger."""

from datetime import UTC, datetime
from decimal import Decimal

import dagster as dg

from billing_assets.periods import month_period
from billing_assets.revenue.invoicing.credits import CreditLine, Grant, build_ledger
from billing_assets.revenue.invoicing.rating import (
    AvailableCredit,
    Phase,
    PlanVersion,
    Subscription,
    UsageCharge,
    quote,
)
from billing_assets.sample_world import stable_id
from tests.revenue.invoicing.usage import at_first_phase

T0 = datetime(2025, 1, 1, tzinfo=UTC)
GST = Decimal("0.10")
PLAN = PlanVersion("pv", "starter", 1, "USD", 2000, 0, (UsageCharge("api", "per_unit", 0, Decimal("1")),))
SUB = Subscription("sub", "dep", "dep", T0, (Phase(PLAN, T0, None),))
FREE = ("free", "free_monthly", 1000)
PROMO_EXPIRY = datetime(2026, 3, 15, tzinfo=UTC)  # mid-period: usable for March, gone for April


def test_four_months_of_free_and_promotional_credit_to_the_cent():
    """$10 monthly free credit + $25 promotional grant expiring mid-March, invoices of $20 + usage."""
    usage = {1: 0, 2: 500, 3: 2000, 4: 300}  # cents of per-unit usage each month
    promo_left, rows, lines = 2500, [], []
    for month in (1, 2, 3, 4):
        period = month_period(2026, month)
        credits = [AvailableCredit("free", "free_monthly", "monthly", "USD", 1000)]
        if period.start < PROMO_EXPIRY and promo_left:
            credits.append(AvailableCredit("promo", "promotional", "welcome", "USD", promo_left, PROMO_EXPIRY))
        q = quote("USD", period, [at_first_phase(SUB, {"api": usage[month]})], GST, "GST", credits)
        applied = {line.credit_grant_id: line.amount for line in q.lines if line.kind == "credit"}
        promo_left += applied.get("promo", 0)
        rows.append((q.subtotal, q.tax, q.total, applied.get("free", 0), applied.get("promo", 0)))
        lines += [CreditLine(period.start.replace(tzinfo=None), g, "t", f"inv-{month}", f"l-{month}-{g}", a)
                  for g, a in applied.items()]
    assert rows == [
        (0, 0, 0, -1000, -1000),          # Jan: 2000 -> free 1000 first, promo 1000 (carry 1500)
        (0, 0, 0, -1000, -1500),          # Feb: 2500 -> free 1000, promo 1500 (promo exhausted)
        (3000, 300, 3300, -1000, 0),      # Mar: 4000 -> free 1000; nothing left of the promo
        (1300, 130, 1430, -1000, 0),      # Apr: promo expired; free credit reset (never rolled over)
    ]
    months = [month_period(2026, m) for m in (1, 2, 3, 4)]
    grants = [Grant("promo", "t", "promotional", 2500, datetime(2026, 1, 1, tzinfo=UTC), PROMO_EXPIRY)]
    free = {(m.start.replace(tzinfo=None), "free"): ("t", 1000) for m in months}
    entries, balances = build_ledger(months, grants, free, lines)
    promo = [(b.granted, b.consumed, b.expired, b.remaining) for b in balances if b.credit_grant_id == "promo"]
    assert promo == [(2500, 1000, 0, 1500), (2500, 2500, 0, 0), (2500, 2500, 0, 0), (2500, 2500, 0, 0)]
    assert all(b.consumed + b.expired + b.remaining == b.granted and b.remaining >= 0 for b in balances)
    assert {e.entry_type for e in entries} == {"granted", "consumed"}


def test_unused_promotional_credit_expires_and_free_credit_resets():
    months = [month_period(2026, m) for m in (1, 2)]
    grants = [Grant("p", "t", "promotional", 5000, datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 2, 1, tzinfo=UTC))]
    lines = [CreditLine(months[0].start.replace(tzinfo=None), "p", "t", "i", "l", -1200),
             CreditLine(months[0].start.replace(tzinfo=None), "f", "t", "i", "l2", -300)]
    free = {(m.start.replace(tzinfo=None), "f"): ("t", 1000) for m in months}
    entries, balances = build_ledger(months, grants, free, lines)
    expired = [(e.period_start.month, e.credit_grant_id, e.amount) for e in entries if e.entry_type == "expired"]
    assert expired == [(1, "f", -700), (1, "p", -3800), (2, "f", -1000)]
    assert all(b.remaining == 0 for b in balances if b.period_start.month == 2)


def test_credit_larger_than_the_invoice_never_makes_it_negative():
    q = quote("USD", month_period(2026, 4), [at_first_phase(SUB, {})], GST, "GST",
              [AvailableCredit("big", "promotional", "big", "USD", 10_000)])
    assert (q.subtotal, q.tax, q.total) == (0, 0, 0)
    assert [line.amount for line in q.lines if line.kind == "credit"] == [-2000]


def test_deployment_scope_caps_a_credit_at_that_deployments_charges():
    other = Subscription("sub2", "dep2", "dep2", T0, (Phase(PLAN, T0, None),))
    q = quote("USD", month_period(2026, 4), [at_first_phase(SUB, {}), at_first_phase(other, {})], GST, "GST",
              [AvailableCredit("scoped", "promotional", "scoped", "USD", 5000, None, "dep2")])
    assert [(line.deployment_id, line.amount) for line in q.lines if line.kind == "credit"] == [("dep2", -2000)]
    assert q.subtotal == 2000


def test_zero_decimal_currency_credit_and_plan_allowance():
    jp = PlanVersion("pv-jp", "studio-jp", 2, "JPY", 8000, 0, (), monthly_free_credit=500)
    sub = Subscription("s", "d", "tokyo", T0, (Phase(jp, T0, None),))
    q = quote("JPY", month_period(2026, 9), [at_first_phase(sub, {})], Decimal("0.10"), "JCT",
              [AvailableCredit("promo", "promotional", "launch", "JPY", 3000, datetime(2027, 1, 1, tzinfo=UTC))])
    assert [(line.credit_grant_id, line.amount) for line in q.lines if line.kind == "credit"] == [
        ("plan-allowance:s", -500), ("promo", -3000)]
    assert (q.subtotal, q.tax, q.total) == (4500, 450, 4950)  # tax on the amount after credits


def test_tax_is_computed_after_credits():
    q = quote("USD", month_period(2026, 4), [at_first_phase(SUB, {"api": 333})], GST, "GST",
              [AvailableCredit("c", "promotional", "c", "USD", 1111)])
    assert q.subtotal == 2000 + 333 - 1111 and q.tax == 122  # 10% of 1222 = 122.2 -> 122


INVOICING = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
             "source_cloud_resources", "source_usage_events", "metered_usage", "tenant_invoices",
             "tenant_invoice_lines", "credit_ledger"]


def test_sample_world_credits_through_the_assets(env):
    harbour = stable_id("tenant", "harbour-health")
    env.month_close("2026-01-01", "2026-02-01")
    with env.connect() as conn:
        credit_lines = conn.execute(
            "SELECT strftime(i.period_start, '%Y-%m'), l.description, l.amount_minor FROM revenue.tenant_invoice_lines l "
            "JOIN revenue.tenant_invoices i USING (invoice_id) WHERE l.kind = 'credit' AND i.tenant_id = ? "
            "ORDER BY 1, l.line_number", [harbour]).fetchall()
        ledger = conn.execute("SELECT entry_type, sum(amount_minor) FROM revenue.credit_ledger GROUP BY 1 ORDER BY 1"
                              ).fetchall()
        first = conn.execute("SELECT * FROM revenue.credit_ledger ORDER BY ALL").fetchall()
    assert credit_lines == [
        ("2026-01", "Credit: Monthly free credit (annual contract) (free monthly)", -1000),
        ("2026-01", "Credit: Welcome credit for the sync deployment (promotional)", -2000),
        ("2026-02", "Credit: Monthly free credit (annual contract) (free monthly)", -1000),
        ("2026-02", "Credit: Welcome credit for the sync deployment (promotional)", -500),
    ]
    assert dict(ledger)["consumed"] == -4500
    result = env.materialize(INVOICING, partition_key="2026-02-01")
    checks = [c for c in result.get_asset_check_evaluations() if c.asset_key == dg.AssetKey("credit_ledger")]
    assert len(checks) == 2 and all(c.passed for c in checks)
    with env.connect() as conn:
        assert conn.execute("SELECT * FROM revenue.credit_ledger ORDER BY ALL").fetchall() == first  # re-run: same
