"""Charge models, currency exponents and tax rounding, straight through the quote engine (pure).
April 2026; each expected minor-unit figure worked out by hand in the comment beside it."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from billing_assets.periods import month_period
from billing_assets.revenue.invoicing.rating import Phase, PlanVersion, Subscription, Tier, UsageCharge, quote
from tests.revenue.invoicing.usage import at_first_phase

APRIL = month_period(2026, 4)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
# Per million requests: the first million at $25, up to ten million at $20, beyond at $15 (in cents per
# request: 0.0025, 0.002, 0.0015). The tier set reproduces the example's figures: 15M requests cost
# $280 graduated and $225 volume.
LADDER = (Tier(1_000_000, Decimal("0.0025")), Tier(10_000_000, Decimal("0.002")), Tier(None, Decimal("0.0015")))


def rate(charge: UsageCharge, used: int, currency: str = "USD", base: int = 0, minimum: int = 0,
         tax: str = "0", label: str = "none"):
    plan = PlanVersion("pv", "plan", 1, currency, base, minimum, (charge,))
    sub = Subscription("sub", "dep", "dep", T0, (Phase(plan, T0, None),))
    return quote(currency, APRIL, [at_first_phase(sub, {charge.metric: used})], Decimal(tax), label)


def usage_amount(q) -> int:
    return sum(line.amount for line in q.lines if line.kind in ("overage", "minimum_commitment"))


CASES = {
    # graduated: 1,000,000 x 0.0025 = 2,500 + 9,000,000 x 0.002 = 18,000 + 5,000,000 x 0.0015 = 7,500
    #            = 28,000 cents = $280
    "graduated 15M": (UsageCharge("requests", "graduated", tiers=LADDER), 15_000_000, 28_000),
    # volume: all 15,000,000 at the reached tier's 0.0015 = 22,500 cents = $225
    "volume 15M": (UsageCharge("requests", "volume", tiers=LADDER), 15_000_000, 22_500),
    # volume just inside the middle tier: 10,000,000 x 0.002 = 20,000
    "volume at a tier bound": (UsageCharge("requests", "volume", tiers=LADDER), 10_000_000, 20_000),
    # package: blocks of 1,000 at 50c, rounded up: 2,001 -> 3 blocks = 150
    "package rounds blocks up": (UsageCharge("builds", "package", package_size=1000, package_amount=50), 2001, 150),
    # package with included: 2,500 used - 500 included = 2,000 -> exactly 2 blocks = 100
    "package after included": (UsageCharge("builds", "package", included_quantity=500, package_size=1000,
                                           package_amount=50), 2500, 100),
}


@pytest.mark.parametrize(("charge", "used", "expected"), CASES.values(), ids=CASES.keys())
def test_charge_model(charge, used, expected):
    assert usage_amount(rate(charge, used)) == expected


def test_minimum_commitment_tops_up():
    # base 1000 + 500 requests x 1c = 1500 < minimum 5000 -> true-up 3500; subtotal 5000
    q = rate(UsageCharge("requests", "per_unit", unit_amount=Decimal(1)), 500, base=1000, minimum=5000)
    assert [(line.kind, line.quantity, line.unit_amount, line.amount) for line in q.lines[:-1]] == [
        ("plan_base", 1, 1000, 1000), ("overage", 500, 1, 500), ("minimum_commitment", 1, 3500, 3500)]
    assert q.subtotal == 5000


def test_jpy_rounds_to_whole_yen():
    # JPY has no minor unit: 3 units x 1.5 yen = 4.5 -> 5 (half-up); base 1000; JCT 10% of 1005 = 100.5 -> 101
    q = rate(UsageCharge("requests", "per_unit", unit_amount=Decimal("1.5")), 3, currency="JPY", base=1000,
             tax="0.10", label="JCT")
    assert (q.subtotal, q.tax, q.total) == (1005, 101, 1106)


def test_kwd_has_three_decimals():
    # KWD minor unit is the fils (1/1000): 3 units x 0.5 fils = 1.5 -> 2 fils; base 1.250 KWD = 1250 fils
    q = rate(UsageCharge("requests", "per_unit", unit_amount=Decimal("0.5")), 3, currency="KWD", base=1250)
    assert (q.subtotal, q.tax, q.total) == (1252, 0, 1252)


def test_au_gst_rounds_a_half_cent_up():
    # subtotal 10.05 AUD (1005 cents): GST 10% = 100.5 -> 101 (half-up, not banker's 100)
    q = rate(UsageCharge("requests", "per_unit", unit_amount=Decimal(1)), 5, currency="AUD", base=1000,
             tax="0.10", label="GST")
    assert (q.subtotal, q.tax, q.total) == (1005, 101, 1106)
    assert q.lines[-1].tax_rate == Decimal("0.10")
