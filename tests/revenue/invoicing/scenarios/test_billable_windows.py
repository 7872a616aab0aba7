"""Usage is billed only inside a subscription's billable window: after its trial, before its
cancellation, to exactly one subscription. April 2026 has 30 days; GST 10% half-up; every figure
below is worked out by hand."""


import pytest

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

