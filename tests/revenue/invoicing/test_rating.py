"""The quote engine, directly: worked examples to the cent and properties (hypothesis)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing_assets.money import MoneyError, exponent, format_money, parse_amount
from billing_assets.periods import month_period
from billing_assets.revenue.invoicing.rating import (
    AddOn,
    Phase,
    PlanVersion,
    RatingError,
    Subscription,
    Tier,
    UsageCharge,
    correction,
    price_quantity,
    quote,
)
from billing_assets.tax import TaxError, tax_rate_for
from tests.revenue.invoicing.usage import at_first_phase

APRIL = month_period(2026, 4)
GST = Decimal("0.10")
T0 = datetime(2025, 1, 1, tzinfo=UTC)

STUDIO = PlanVersion("pv-studio-1", "studio", 1, "USD", 5000, 0, (
    UsageCharge("droplet_hours", "per_unit", 1488, Decimal("1")),))
STUDIO_2 = PlanVersion("pv-studio-2", "studio", 2, "USD", 5500, 0, STUDIO.charges)
STARTER = PlanVersion("pv-starter-1", "starter", 1, "USD", 2000, 0, (
    UsageCharge("droplet_hours", "per_unit", 744, Decimal("1.2")),))


def sub(phases, add_ons=(), **kw):
    return Subscription("sub-1", "dep-1", "acme-studio", kw.pop("started_at", T0), tuple(phases), tuple(add_ons), **kw)


def test_pilot_case_to_the_cent():
    """DESIGN.md §5: $50 + $7.50 + 672 h x 1c = $64.22; GST $6.42; total $70.64."""
    s = sub([Phase(STUDIO, T0, None)], [AddOn("storage_50gb", "Storage 50 GB", 750, 1, T0)])
    q = quote("USD", APRIL, [at_first_phase(s, {"droplet_hours": 2160})], GST, "GST")
    assert [(line.kind, line.amount) for line in q.lines] == [
        ("plan_base", 5000), ("addon", 750), ("overage", 672), ("tax", 642)]
    assert (q.subtotal, q.tax, q.total) == (6422, 642, 7064)
    assert q.lines[-1].tax_rate == GST
    assert "Addon: storage_50gb" in q.lines[1].description


def test_mid_month_upgrade_is_prorated_by_the_second():
    upgrade = datetime(2026, 4, 16, tzinfo=UTC)
    s = sub([Phase(STARTER, T0, upgrade), Phase(STUDIO, upgrade, None)])
    q = quote("USD", APRIL, [at_first_phase(s, {"droplet_hours": 1000})], GST, "GST")
    base = [line for line in q.lines if line.kind == "plan_base"]
    assert [line.amount for line in base] == [1000, 2500]  # 15/30 of $20, 15/30 of $50
    # All 1,000 hours ran in the starter phase (Apr 1-16), rated on starter's price with its included
    # hours prorated: 744 x 15/30 = 372 included, 628 x 1.2c = 753.6 -> 754; the studio phase used none.
    assert [(line.plan_version_id, line.quantity, line.amount) for line in q.lines if line.kind == "overage"] == [
        ("pv-starter-1", 628, 754)]


def test_cancellation_and_trial_limit_the_billable_window():
    canceled = sub([Phase(STUDIO, T0, None)], canceled_at=datetime(2026, 4, 10, 12, tzinfo=UTC))
    q = quote("USD", APRIL, [at_first_phase(canceled, {})], GST, "GST")
    assert q.lines[0].amount == 1583  # 9.5 / 30 x 5000 = 1583.33
    trial = sub([Phase(STUDIO, T0, None)], started_at=datetime(2026, 3, 20, tzinfo=UTC),
                trial_ends_at=datetime(2026, 4, 3, tzinfo=UTC))
    assert quote("USD", APRIL, [at_first_phase(trial, {})], GST, "GST").lines[0].amount == 4667  # 28/30
    whole_trial = sub([Phase(STUDIO, T0, None)], trial_ends_at=datetime(2026, 6, 1, tzinfo=UTC))
    q = quote("USD", APRIL, [at_first_phase(whole_trial, {})], GST, "GST")
    assert q.total == 0 and [line.kind for line in q.lines] == ["tax"]
    # Usage in a trial is never attributed to the subscription (metering lists it as unbilled); usage
    # handed to the engine for a phase without billable time would be lost money, so it is refused.
    with pytest.raises(RatingError, match=r"usage attributed to plan phase\(s\) starting 2025-01-01 00:00, which "
                                          r"have no billable time in 2026-04"):
        quote("USD", APRIL, [at_first_phase(whole_trial, {"droplet_hours": 99999})], GST, "GST")


def test_graduated_volume_and_package_worked_examples():
    tiers = (Tier(1000, Decimal("2")), Tier(5000, Decimal("1")), Tier(None, Decimal("0.5")))
    graduated = UsageCharge("api", "graduated", 0, tiers=tiers)
    volume = UsageCharge("api", "volume", 0, tiers=tiers)
    # graduated: 1000 x 2 + 4000 x 1 + 1000 x 0.5 = 6500
    assert price_quantity(graduated, 6000) == Decimal("6500")
    # volume: all 6000 units at the last tier's 0.5 = 3000; 4000 units at 1 = 4000
    assert price_quantity(volume, 6000) == Decimal("3000")
    assert price_quantity(volume, 4000) == Decimal("4000")
    package = UsageCharge("build_minutes", "package", 0, package_size=100, package_amount=40)
    assert price_quantity(package, 1) == 40 and price_quantity(package, 100) == 40
    assert price_quantity(package, 101) == 80
    flat = UsageCharge("api", "graduated", 0, tiers=(Tier(10, Decimal("1"), 500), Tier(None, Decimal("1"), 100)))
    assert price_quantity(flat, 5) == 505 and price_quantity(flat, 11) == 10 + 500 + 1 + 100


def test_included_units_come_off_before_the_tiers():
    plan = PlanVersion("pv", "p", 1, "USD", 0, 0, (UsageCharge("api", "graduated", 100, tiers=(
        Tier(50, Decimal("10")), Tier(None, Decimal("1")))),))
    q = quote("USD", APRIL, [at_first_phase(sub([Phase(plan, T0, None)]), {"api": 200})], Decimal(0), "none")
    assert q.subtotal == 50 * 10 + 50 * 1


def test_minimum_commitment_true_up():
    plan = PlanVersion("pv", "scale", 1, "USD", 20000, 30000, (UsageCharge("x", "per_unit", 0, Decimal("1")),))
    q = quote("USD", APRIL, [at_first_phase(sub([Phase(plan, T0, None)]), {"x": 4000})], Decimal(0), "none")
    assert [(line.kind, line.amount) for line in q.lines if line.kind != "tax"] == [
        ("plan_base", 20000), ("overage", 4000), ("minimum_commitment", 6000)]
    q = quote("USD", APRIL, [at_first_phase(sub([Phase(plan, T0, None)]), {"x": 20000})], Decimal(0), "none")
    assert "minimum_commitment" not in [line.kind for line in q.lines]


def test_jpy_invoice_has_no_minor_units():
    plan = PlanVersion("pv-jp", "studio-jp", 1, "JPY", 7500, 0, (UsageCharge("droplet_hours", "per_unit", 1488,
                                                                            Decimal("1.5")),))
    q = quote("JPY", APRIL, [at_first_phase(sub([Phase(plan, T0, None)]), {"droplet_hours": 2161})], Decimal("0.10"), "JCT")
    assert (q.subtotal, q.tax, q.total) == (7500 + 1010, 851, 9361)  # 673 x 1.5 = 1009.5 -> 1010
    assert format_money(q.total, "JPY") == "JPY 9,361"
    assert exponent("JPY") == 0 and exponent("KWD") == 3


def test_currency_mismatch_and_bad_catalogue_are_refused():
    with pytest.raises(RatingError, match="priced in USD"):
        quote("JPY", APRIL, [at_first_phase(sub([Phase(STUDIO, T0, None)]), {})], GST, "GST")
    with pytest.raises(RatingError, match="tiers must ascend"):
        UsageCharge("x", "graduated", 0, tiers=(Tier(None, Decimal(1)), Tier(5, Decimal(1))))
    with pytest.raises(RatingError, match="unknown charge model"):
        UsageCharge("x", "matrix")
    with pytest.raises(RatingError, match="gaps"):
        quote("USD", APRIL, [at_first_phase(sub([Phase(STUDIO, T0, datetime(2026, 4, 10, tzinfo=UTC))]), {})], GST, "GST")


def test_tax_is_effective_dated_and_unknown_jurisdictions_fail():
    assert tax_rate_for("AU", APRIL).rate == Decimal("0.10")
    assert tax_rate_for("JP", month_period(2019, 9)).rate == Decimal("0.08")
    assert tax_rate_for("JP", month_period(2019, 10)).rate == Decimal("0.10")
    assert tax_rate_for("EXPORT", APRIL).rate == 0
    with pytest.raises(TaxError, match="'XX'"):
        tax_rate_for("XX", APRIL)


def test_correction_holds_only_the_delta_and_ties_out():
    s = sub([Phase(STUDIO, T0, None)])
    issued = quote("USD", APRIL, [at_first_phase(s, {"droplet_hours": 2160})], GST, "GST")
    later = quote("USD", APRIL, [at_first_phase(s, {"droplet_hours": 2260})], GST, "GST")
    delta = correction(list(issued.lines), later)
    assert [(line.kind, line.amount) for line in delta] == [("overage", 100), ("tax", 10)]
    assert issued.total + sum(line.amount for line in delta) == later.total
    assert correction(list(issued.lines), issued) == []
    lower = quote("USD", APRIL, [at_first_phase(s, {"droplet_hours": 1000})], GST, "GST")
    removed = correction(list(issued.lines), lower)
    assert sum(line.amount for line in removed) == lower.total - issued.total < 0


def test_provider_amounts_parse_exactly():
    assert parse_amount("$1,234.56") == Decimal("1234.56")
    assert parse_amount("-$5.00") == parse_amount("$-5.00") == Decimal("-5.00")
    assert parse_amount("12.34") == Decimal("12.34")
    for bad in ("", "$", "12,34", "1.2.3", "$$1", "--1", "-$-1", "abc", "1e5"):
        with pytest.raises(MoneyError):
            parse_amount(bad)


# --- properties --------------------------------------------------------------------------------

quantities = st.integers(min_value=0, max_value=5_000_000)
tiers_strategy = st.lists(st.integers(1, 100_000), min_size=1, max_size=4, unique=True).map(sorted).flatmap(
    lambda bounds: st.tuples(*[st.decimals("0", "5", places=4) for _ in range(len(bounds) + 1)]).map(
        lambda units: tuple(Tier(b, u) for b, u in zip([*bounds, None], units, strict=True))))


@settings(max_examples=150, deadline=None)
@given(tiers_strategy, quantities, quantities)
def test_graduated_pricing_is_monotone(tiers, a, b):
    charge = UsageCharge("m", "graduated", 0, tiers=tiers)
    low, high = sorted((a, b))
    assert price_quantity(charge, low) <= price_quantity(charge, high)


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 3_000_000), st.sampled_from(["per_unit", "package", "graduated"]),
       st.integers(0, 5000), st.decimals("0", "0.5", places=3))
def test_totals_never_negative_without_a_credit(base, used, model, included, rate):
    charge = {"per_unit": UsageCharge("m", "per_unit", included, Decimal("0.7")),
              "package": UsageCharge("m", "package", included, package_size=50, package_amount=30),
              "graduated": UsageCharge("m", "graduated", included, tiers=(Tier(1000, Decimal(2)),
                                                                        Tier(None, Decimal(1))))}[model]
    plan = PlanVersion("pv", "p", 1, "USD", base, 0, (charge,))
    q = quote("USD", APRIL, [at_first_phase(sub([Phase(plan, T0, None)]), {"m": used})], rate, "tax")
    assert q.subtotal >= 0 and q.tax >= 0 and q.total == q.subtotal + q.tax


@settings(max_examples=150, deadline=None)
@given(st.integers(1, APRIL.seconds - 1), st.integers(0, 100_000), st.integers(0, 10_000))
def test_splitting_a_period_and_rejoining_it_changes_nothing(split_s, base, used):
    plan = PlanVersion("pv", "p", 1, "USD", base, 0, (UsageCharge("m", "per_unit", 100, Decimal("1.3")),))
    split = APRIL.start + timedelta(seconds=split_s)
    whole = quote("USD", APRIL, [at_first_phase(sub([Phase(plan, T0, None)]), {"m": used})], GST, "GST")
    halves = quote("USD", APRIL, [at_first_phase(sub([Phase(plan, T0, split), Phase(plan, split, None)]), {"m": used})], GST, "GST")
    assert whole == halves


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 100_000), st.integers(0, 10_000), st.integers(1, APRIL.seconds - 1))
def test_same_inputs_same_output(base, used, cancel_s):
    plan = PlanVersion("pv", "p", 1, "USD", base, 0, (UsageCharge("m", "per_unit", 0, Decimal("0.35")),))
    s = sub([Phase(plan, T0, None)], canceled_at=APRIL.start + timedelta(seconds=cancel_s))
    a = quote("USD", APRIL, [at_first_phase(s, {"m": used})], GST, "GST")
    b = quote("USD", APRIL, [at_first_phase(s, {"m": used})], GST, "GST")
    assert a == b and repr(a) == repr(b)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 10**9), min_size=1, max_size=20), st.decimals("0", "0.3", places=3))
def test_tax_rounding_is_stable_and_once_per_invoice(amounts, rate):
    from billing_assets.money import round_half_up

    assert round_half_up(sum(amounts) * rate) == round_half_up(Decimal(sum(amounts)) * rate)
    assert abs(round_half_up(sum(amounts) * rate) - sum(amounts) * rate) <= Decimal("0.5")
