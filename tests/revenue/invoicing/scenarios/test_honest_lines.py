"""Customer documents are arithmetically honest: on every line that shows a unit amount, amount =
quantity x unit amount rounded half-up; a correction carries the delta quantity, or quantity 1 with
the delta as the unit amount when the delta is not a quantity change."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from billing_assets.money import round_half_up
from billing_assets.periods import month_period
from billing_assets.revenue.invoicing.rating import (
    AddOn,
    Phase,
    PlanVersion,
    Subscription,
    UsageCharge,
    correction,
    quote,
)
from tests.revenue.invoicing.usage import at_first_phase

APRIL = month_period(2026, 4)
T0 = datetime(2025, 1, 1, tzinfo=UTC)
GST = Decimal("0.10")
STUDIO = PlanVersion("pv-studio", "studio", 1, "USD", 5000, 0,
                     (UsageCharge("droplet_hours", "per_unit", 1488, Decimal("1")),))


def studio(hours: int, plan: PlanVersion = STUDIO):
    sub = Subscription("sub", "dep", "acme-studio", T0, (Phase(plan, T0, None),))
    return quote("USD", APRIL, [at_first_phase(sub, {"droplet_hours": hours})], GST, "GST")


def shown(line) -> tuple:
    return (line.kind, line.quantity, line.unit_amount, line.amount)


def test_more_usage_after_issue_corrects_with_the_delta_quantity():
    # issued: 2160 - 1488 = 672 h x 1c = 672; GST on 5672 = 567.2 -> 567
    # desired: 2260 - 1488 = 772 h -> 772; GST on 5772 = 577.2 -> 577
    # correction: +100 h x 1c = 100 (not "772 x 1 = 100"); tax +10 shown as quantity 1, no unit
    delta = correction(list(studio(2160).lines), studio(2260))
    assert [shown(line) for line in delta] == [("overage", 100, Decimal(1), 100), ("tax", 1, None, 10)]


def test_a_price_change_is_not_a_quantity_change():
    # the same 672 billable hours, the unit price corrected from 1c to 2c: +672 shown as 1 x 672
    dearer = replace(STUDIO, charges=(UsageCharge("droplet_hours", "per_unit", 1488, Decimal("2")),))
    delta = correction(list(studio(2160).lines), studio(2160, dearer))
    assert shown(delta[0]) == ("overage", 1, Decimal(672), 672)


def test_a_removed_line_carries_minus_its_quantity():
    # usage falls back under the included hours: the 672 h line goes, as -672 h x 1c = -672
    # (GST on 5000 = 500 instead of 567: -67)
    delta = correction(list(studio(2160).lines), studio(1000))
    assert sorted(shown(line) for line in delta) == [("overage", -672, Decimal(1), -672), ("tax", 1, None, -67)]


@given(start_day=st.integers(min_value=1, max_value=30), start_second=st.integers(min_value=0, max_value=86399),
       add_on_quantity=st.integers(min_value=1, max_value=7), price=st.integers(min_value=1, max_value=99_999),
       hours=st.integers(min_value=0, max_value=5000))
def test_every_line_with_a_unit_amount_multiplies_out(start_day, start_second, add_on_quantity, price, hours):
    started = datetime(2026, 4, start_day, tzinfo=UTC) + timedelta(seconds=start_second)
    plan = replace(STUDIO, base_fee=price)
    sub = Subscription("sub", "dep", "dep", started, (Phase(plan, started, None),),
                       (AddOn("storage", "Storage", price // 3 + 1, add_on_quantity, started),))
    q = quote("USD", APRIL, [at_first_phase(sub, {"droplet_hours": hours})], GST, "GST")
    for line in q.lines:
        if line.unit_amount is not None:
            assert line.amount == round_half_up(line.quantity * line.unit_amount), line
            assert line.quantity == line.quantity.quantize(Decimal("0.000001"))  # at most 6 decimals shown
