"""Usage is billed only inside a subscription's billable window: after its trial, before its
cancellation, to exactly one subscription. April 2026 has 30 days; GST 10% half-up; every figure
below is worked out by hand."""


from datetime import datetime

import pytest

from billing_assets.revenue.metering.assets import check_findings
from billing_assets.warehouse import open_warehouse
from tests.revenue.invoicing.scenarios.world import Plan, ScenarioWorld, exact


# $30 a month, requests at 1c each; `included` requests a month, prorated by the phase's share.
def flat(included: int = 0) -> Plan:
    return Plan("flat", 3000, [{"metric": "requests", "charge_model": "per_unit", "included_quantity": included,
                                "unit_amount_decimal": "1"}])


CASES = {
    # Canceled Apr 10 00:00, a new subscription from Apr 20 00:00; usage on the 5th, 15th and 25th.
    #   sub-a: 9/30 = 0.3 x 3000 = 900; its 100 requests x 1c = 100
    #   sub-b: 11/30 = 0.366667 (shown, half-up) x 3000 = 1100.001 -> 1100; its 300 requests = 300
    #   the 200 requests of the 15th fall between the two: after_cancel, not billed (before: 600 twice)
    #   subtotal 900 + 100 + 1100 + 300 = 2400; GST 240; total 2640
    "re-subscription in the same month": dict(
        subscriptions=[("sub-a", "2026-03-01 00:00:00", None, "2026-04-10 00:00:00"),
                       ("sub-b", "2026-04-20 00:00:00", None, None)],
        events=[(100, "2026-04-05 12:00:00"), (200, "2026-04-15 12:00:00"), (300, "2026-04-25 12:00:00")],
        included=0,
        lines=[("plan_base", "flat", 0.3, 3000, 900), ("overage", "flat", 100, 1, 100),
               ("plan_base", "flat", "0.366667", 3000, 1100), ("overage", "flat", 300, 1, 300), ("tax", None, 1, None, 240)],
        total=2640, unbilled=[("after_cancel", "requests", 200)]),
    # Trial from Mar 20 to Apr 11 00:00; 300 requests included a month. Usage: 500 on Apr 5 (trial),
    # 400 on Apr 20. Window Apr 11 - May 1 = 20 days: 0.666667 x 3000 = 2000.001 -> 2000; included
    # 300 x 20/30 = 200; billable 400 - 200 = 200 x 1c = 200; subtotal 2200; GST 220; total 2420.
    "trial ending mid-month": dict(
        subscriptions=[("sub-t", "2026-03-20 00:00:00", "2026-04-11 00:00:00", None)],
        events=[(500, "2026-04-05 12:00:00"), (400, "2026-04-20 12:00:00")],
        included=300,
        lines=[("plan_base", "flat", "0.666667", 3000, 2000), ("overage", "flat", 200, 1, 200), ("tax", None, 1, None, 220)],
        total=2420, unbilled=[("trial", "requests", 500)]),
    # Canceled Apr 16 00:00 (15 days); 300 included -> 150. Usage 100 (10th) + 250 (14th) = 350, and
    # 999 on the 20th, after the cancellation. Base 0.5 x 3000 = 1500; 350 - 150 = 200 x 1c = 200;
    # subtotal 1700; GST 170; total 1870.
    "cancellation mid-month": dict(
        subscriptions=[("sub-c", "2026-01-01 00:00:00", None, "2026-04-16 00:00:00")],
        events=[(100, "2026-04-10 12:00:00"), (250, "2026-04-14 12:00:00"), (999, "2026-04-20 12:00:00")],
        included=300,
        lines=[("plan_base", "flat", 0.5, 3000, 1500), ("overage", "flat", 200, 1, 200), ("tax", None, 1, None, 170)],
        total=1870, unbilled=[("after_cancel", "requests", 999)]),
    # A whole-month trial bills nothing and lists all usage as trial usage.
    "whole-month trial": dict(
        subscriptions=[("sub-w", "2026-03-20 00:00:00", "2026-06-01 00:00:00", None)],
        events=[(700, "2026-04-05 12:00:00")],
        included=0, lines=[], total=0, unbilled=[("trial", "requests", 700)]),
}


def test_overlapping_subscriptions_bill_each_hour_and_event_once(tmp_path):
    """sub-a from Mar 1 (never canceled), sub-b from Apr 16 00:00 on the same deployment: from the 16th
    the later-started sub-b bills the usage, never both (README "Which usage counts"). Requests at 1c and
    droplet-hours at 1c, nothing included; one droplet alive all April = 720 hours.
      sub-a: base 1 x 3000 = 3000 (its window is the whole month); droplet Apr 1-16 = 15 x 24 = 360 h -> 360;
             100 requests on the 10th -> 100
      sub-b: base 15/30 = 0.5 x 3000 = 1500; droplet Apr 16 - May 1 = 360 h -> 360; 300 requests on the
             20th (inside both windows: sub-b's) -> 300
      subtotal 3000 + 360 + 100 + 1500 + 360 + 300 = 5620; GST 10% 562; total 6182.
    Billing the overlap's hours to both (720 + 360) would have made it 5980 + 598."""
    world = ScenarioWorld(tmp_path)
    world.plan(Plan("flat", 3000, [
        {"metric": "droplet_hours", "charge_model": "per_unit", "included_quantity": 0, "unit_amount_decimal": "1"},
        {"metric": "requests", "charge_model": "per_unit", "included_quantity": 0, "unit_amount_decimal": "1"}]))
    world.subscribe("sub-a", [("flat", "2026-03-01 00:00:00", None)])
    world.subscribe("sub-b", [("flat", "2026-04-16 00:00:00", None)])
    world.resource("droplet-1", "droplet", "2026-03-01 00:00:00")
    world.event("requests", 100, "2026-04-10 12:00:00")
    world.event("requests", 300, "2026-04-20 12:00:00")
    result = world.close("2026-04")
    assert {c.check_name: c.passed for c in result.get_asset_check_evaluations()}["resource_hours_billed_once"]
    assert sorted(world.lines("2026-04")) == sorted([
        ("plan_base", "flat", 1, 3000, 3000), ("overage", "flat", 360, 1, 360), ("overage", "flat", 100, 1, 100),
        ("plan_base", "flat", exact(0.5), 3000, 1500), ("overage", "flat", 360, 1, 360),
        ("overage", "flat", 300, 1, 300), ("tax", None, 1, None, 562)])
    assert world.total("2026-04") == 6182
    assert world.unbilled("2026-04") == []
    # The check that guards the rule sees an hour billed twice: one more hour of the droplet billed.
    with open_warehouse(world.env.warehouse_path) as conn:
        conn.execute("INSERT INTO revenue.billable_usage SELECT * REPLACE (1 AS quantity, 'sub-x' AS subscription_id) "
                     "FROM revenue.billable_usage WHERE source = 'resources' LIMIT 1")
        found = check_findings(conn, datetime(2026, 4, 1), datetime(2026, 5, 1))
    assert found["resource_hours_unaccounted"] == [
        (datetime(2026, 4, 1), "d-1", "droplet_hours", "720 hours metered, 721 billed and 0 listed unbilled")]


def test_a_gap_between_plan_phases_is_refused_and_its_usage_listed(tmp_path):
    """One subscription whose phases leave Apr 10 00:00 - Apr 20 00:00 uncovered (a platform bug). The
    snapshot refuses the phase after the gap (no price can be guessed for those days), so the tenant is
    not invoiced for April, with the reason, and the month still closes. Metering, on the phases that
    remain (Mar 1 - Apr 10), bills nothing after Apr 10 and lists what it held as no_plan_phase,
    resource-hours included (before, such hours were in neither table):
      droplet alive all April: Apr 1-10 = 9 x 24 = 216 h billable; Apr 10 - May 1 = 21 x 24 = 504 h listed;
      50 requests on the 15th: listed."""
    world = ScenarioWorld(tmp_path)
    world.plan(Plan("flat", 3000, [
        {"metric": "droplet_hours", "charge_model": "per_unit", "included_quantity": 0, "unit_amount_decimal": "1"},
        {"metric": "requests", "charge_model": "per_unit", "included_quantity": 0, "unit_amount_decimal": "1"}]))
    world.subscribe("sub-g", [("flat", "2026-03-01 00:00:00", "2026-04-10 00:00:00"),
                              ("flat", "2026-04-20 00:00:00", None)])
    world.resource("droplet-1", "droplet", "2026-03-01 00:00:00")
    world.event("requests", 50, "2026-04-15 12:00:00")
    result = world.close("2026-04")
    assert world.documents("2026-04") == []
    assert world.unbilled("2026-04") == [("no_plan_phase", "droplet_hours", 504), ("no_plan_phase", "requests", 50)]
    with world.env.connect() as conn:
        assert conn.execute("SELECT sum(quantity) FROM revenue.billable_usage WHERE metric = 'droplet_hours'"
                            ).fetchone()[0] == 216
        assert conn.execute("SELECT table_name, column_name, value, reason FROM staging.source_rejections").fetchall() == [
            ("subscription_phases", "effective_from", "2026-04-20 00:00:00",
             "leaves a gap after the phase before it, which ends 2026-04-10 00:00:00")]
        [(reason,)] = conn.execute("SELECT reason FROM revenue.invoice_exclusions WHERE subscription_id = 'sub-g'"
                                   ).fetchall()
    assert reason.startswith("source rows refused")
    assert {c.check_name: c.passed for c in result.get_asset_check_evaluations()}["resource_hours_billed_once"]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_billable_window(tmp_path, case):
    world = ScenarioWorld(tmp_path)
    world.plan(flat(case["included"]))
    for sub_id, started, trial_ends, canceled in case["subscriptions"]:
        world.subscribe(sub_id, [("flat", started, None)], trial_ends=trial_ends, canceled=canceled)
    for quantity, occurred in case["events"]:
        world.event("requests", quantity, occurred)
    world.close("2026-04")
    expected = [(k, v, exact(q), u, a) for k, v, q, u, a in case["lines"]]
    assert world.lines("2026-04") == expected
    assert world.total("2026-04") == case["total"]
    assert world.unbilled("2026-04") == case["unbilled"]

