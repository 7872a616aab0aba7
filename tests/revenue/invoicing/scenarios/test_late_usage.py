"""Late usage on a deterministic cut-off: an event is on time for its period when received_at <
period end + grace (3 h: April's cut-off is May 1 03:00:00); a later one is billed on the invoice of
the period whose cut-off it beat, as a prior_period_usage line at the margin of its original period.
A closed month re-run later gives identical documents. GST 10% half-up; figures worked out by hand."""

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.revenue.invoicing.scenarios.world import Plan, ScenarioWorld

FLAT = Plan("flat", 3000, [{"metric": "requests", "charge_model": "per_unit", "unit_amount_decimal": "1"}])
# Graduated: the first 1,000 requests at 2c, the rest at 1c.
LADDER = Plan("ladder", 3000, [{"metric": "requests", "charge_model": "graduated",
                                "tiers": [(1000, "2"), (None, "1")]}])


def world_with(tmp_path, plan: Plan) -> ScenarioWorld:
    world = ScenarioWorld(tmp_path)
    world.plan(Plan(plan.version_id, plan.base_fee, [dict(c) for c in plan.charges]))
    world.subscribe("sub", [(plan.version_id, "2026-01-01 00:00:00", None)])
    return world


def test_either_side_of_the_cut_off_and_exactly_at_it(tmp_path):
    world = world_with(tmp_path, FLAT)
    world.event("requests", 100, "2026-04-30 23:00:00", "2026-05-01 02:59:59")  # before the cut-off: April
    world.event("requests", 200, "2026-04-30 23:00:00", "2026-05-01 03:00:00")  # exactly at it: late
    world.event("requests", 300, "2026-04-30 23:00:00", "2026-05-01 03:00:01")  # after it: late
    world.close("2026-04")
    # April: 3000 + 100 x 1c = 3100; GST 310; total 3410
    assert world.lines("2026-04") == [("plan_base", "flat", 1, 3000, 3000), ("overage", "flat", 100, 1, 100),
                                      ("tax", None, 1, None, 310)]
    april = world.snapshot("2026-04")
    world.close("2026-05")
    # May: 3000 + one prior_period_usage line for April's 500 late requests x 1c = 500; 3500; GST 350
    assert world.lines("2026-05") == [("plan_base", "flat", 1, 3000, 3000),
                                      ("prior_period_usage", "flat", 500, 1, 500), ("tax", None, 1, None, 350)]
    assert world.total("2026-05") == 3850
    world.close("2026-04")
    assert world.snapshot("2026-04") == april  # April re-run after May: the same documents, byte for byte
    assert world.documents("2026-04") == [(None, "invoice", "draft", 3100, 310, 3410)]  # drafts unnumbered


def test_a_late_event_after_issue_lands_on_the_next_invoice_at_the_marginal_tier_price(tmp_path):
    world = world_with(tmp_path, LADDER)
    world.event("requests", 900, "2026-04-10 12:00:00")
    world.close("2026-04")
    world.issue("2026-04")
    # April: 3000 + 900 x 2c = 1800 -> 4800; GST 480; total 5280, issued
    assert world.documents("2026-04") == [("INV-202604-000001", "invoice", "issued", 4800, 480, 5280)]
    world.event("requests", 300, "2026-04-20 12:00:00", "2026-05-05 09:00:00")
    world.close("2026-04")
    assert world.documents("2026-04") == [("INV-202604-000001", "invoice", "issued", 4800, 480, 5280)]  # no SUP
    world.close("2026-05")
    # May bills April's 300 late requests at April's margin: rate(900 + 300) - rate(900)
    #   = (1000 x 2c + 200 x 1c) - 900 x 2c = 2200 - 1800 = 400 (not 300 x 2c = 600, not 300 x 1c)
    # May: 3000 + 400 = 3400; GST 340; total 3740. A graduated line shows no unit amount.
    assert world.lines("2026-05") == [("plan_base", "ladder", 1, 3000, 3000),
                                      ("prior_period_usage", "ladder", 300, None, 400), ("tax", None, 1, None, 340)]
    assert world.total("2026-05") == 3740


def test_late_usage_keeps_climbing_the_original_ladder(tmp_path):
    """A second straggler, billed in June, starts where May's left off: prior = 900 on time + 300 late."""
    world = world_with(tmp_path, LADDER)
    world.event("requests", 900, "2026-04-10 12:00:00")
    world.event("requests", 300, "2026-04-20 12:00:00", "2026-05-05 09:00:00")
    world.event("requests", 50, "2026-04-21 12:00:00", "2026-06-02 09:00:00")
    for month in ("2026-04", "2026-05", "2026-06"):
        world.close(month)
    # June: rate(1250) - rate(1200) = (2000 + 250) - (2000 + 200) = 50 x 1c = 50; 3000 + 50 = 3050; GST 305
    assert world.lines("2026-06") == [("plan_base", "ladder", 1, 3000, 3000),
                                      ("prior_period_usage", "ladder", 50, None, 50), ("tax", None, 1, None, 305)]


def test_duplicate_keys_across_months_count_once(tmp_path):
    world = world_with(tmp_path, FLAT)
    world.event("requests", 7, "2026-04-30 23:50:00", key="k-retry")
    world.event("requests", 7, "2026-05-01 00:20:00", key="k-retry")  # the client's retry, next month
    world.close("2026-04")
    world.close("2026-05")
    # April 3000 + 7 = 3007 (GST 300.7 -> 301); May only its base: 3000 (GST 300)
    assert world.documents("2026-04")[0][3:] == (3007, 301, 3308)
    assert world.documents("2026-05")[0][3:] == (3000, 300, 3300)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(delays=st.lists(st.integers(min_value=3 * 3600, max_value=45 * 86400), min_size=1, max_size=4))
def test_re_running_a_closed_month_later_changes_nothing(tmp_path_factory, delays):
    """Property: whatever arrives after April's cut-off (any delay past it, up to 45 days), re-running
    April gives byte-identical documents, and the late usage is billed exactly once, later."""
    world = world_with(tmp_path_factory.mktemp("late"), FLAT)
    world.event("requests", 10, "2026-04-15 12:00:00")
    world.close("2026-04")
    before = world.snapshot("2026-04")
    cut_off = datetime(2026, 5, 1, 3)
    for n, delay in enumerate(delays):
        received = cut_off + timedelta(seconds=delay - 3 * 3600)
        world.event("requests", n + 1, "2026-04-29 12:00:00", f"{received:%Y-%m-%d %H:%M:%S}")
    world.close("2026-04")
    assert world.snapshot("2026-04") == before
    for month in ("2026-05", "2026-06"):
        world.close(month)
    billed_late = sum(a for m in ("2026-05", "2026-06")
                      for k, _, _, _, a in world.lines(m) if k == "prior_period_usage")
    assert billed_late == sum(range(1, len(delays) + 1))  # each late request once, at 1c
