"""Each plan phase is rated on its own price: usage split at plan changes by occurred_at, included
quantities prorated by the phase's share of the period, tiers starting afresh in every phase.
April 2026 has 30 days, May 31; GST 10% half-up; every figure below is worked out by hand."""


import pytest

from tests.revenue.invoicing.scenarios.world import Plan, ScenarioWorld, exact

STARTER = Plan("starter", 2000, [{"metric": "requests", "charge_model": "per_unit", "included_quantity": 300,
                                  "unit_amount_decimal": "2"}])
PRO = Plan("pro", 5000, [{"metric": "requests", "charge_model": "per_unit", "included_quantity": 1000,
                          "unit_amount_decimal": "1"}])
# Two versions with the same tiers (first 100 requests at 5c, the rest at 1c) and different base fees.
TIERS = [(100, "5"), (None, "1")]
TIERED_A = Plan("tiered-a", 1000, [{"metric": "requests", "charge_model": "graduated", "tiers": list(TIERS)}])
TIERED_B = Plan("tiered-b", 1500, [{"metric": "requests", "charge_model": "graduated", "tiers": list(TIERS)}])
NOT_PRORATED = Plan("fixed-included", 3000, [{"metric": "requests", "charge_model": "per_unit",
                                              "included_quantity": 300, "unit_amount_decimal": "1",
                                              "included_quantity_prorated": False}])

CASES = {
    # Upgrade starter -> pro on Apr 16 00:00 (15 days each). 400 requests on the 10th, 900 on the 20th.
    #   starter: 0.5 x 2000 = 1000; included 300 x 1/2 = 150; (400 - 150) x 2c = 500
    #   pro:     0.5 x 5000 = 2500; included 1000 x 1/2 = 500; (900 - 500) x 1c = 400
    #   subtotal 4400; GST 440; total 4840 (rated at month end on pro alone it would be 3500 + 300)
    "upgrade mid-month": dict(
        month="2026-04", plans=[STARTER, PRO],
        phases=[("starter", "2026-01-01 00:00:00", "2026-04-16 00:00:00"), ("pro", "2026-04-16 00:00:00", None)],
        events=[(400, "2026-04-10 12:00:00"), (900, "2026-04-20 12:00:00")],
        lines=[("plan_base", "starter", 0.5, 2000, 1000), ("plan_base", "pro", 0.5, 5000, 2500),
               ("overage", "starter", 250, 2, 500), ("overage", "pro", 400, 1, 400), ("tax", None, 1, None, 440)],
        total=4840),
    # Downgrade pro -> starter on May 31 00:00. 2,000 requests on May 15, all in the pro phase.
    #   pro:     30/31 = 0.967742 (shown) x 5000 = 4838.71 -> 4839; included 1000 x 30/31 = 967.74 -> 968;
    #            (2000 - 968) x 1c = 1032
    #   starter: 1/31 = 0.032258 x 2000 = 64.516 -> 65; included 300/31 = 9.68 -> 10; no usage
    #   subtotal 4839 + 65 + 1032 = 5936; GST 593.6 -> 594; total 6530
    #   (on the version in force at month end: 2000 + (2000 - 300) x 2c = 5400, the cheaper plan's
    #   base but the dearer usage price: either way not what the customer's phases were)
    "downgrade on the 31st": dict(
        month="2026-05", plans=[STARTER, PRO],
        phases=[("pro", "2026-01-01 00:00:00", "2026-05-31 00:00:00"), ("starter", "2026-05-31 00:00:00", None)],
        events=[(2000, "2026-05-15 12:00:00")],
        lines=[("plan_base", "pro", "0.967742", 5000, 4839), ("plan_base", "starter", "0.032258", 2000, 65),
               ("overage", "pro", 1032, 1, 1032), ("tax", None, 1, None, 594)],
        total=6530),
    # Tiers restart per phase: tiered-a -> tiered-b on Apr 16; 150 requests in each phase.
    #   each phase: 100 x 5c + 50 x 1c = 550 (together, one tier ladder, it would be 500 + 200 = 700)
    #   bases 0.5 x 1000 = 500 and 0.5 x 1500 = 750; subtotal 500 + 750 + 550 + 550 = 2350; GST 235
    "tiers restart in each phase": dict(
        month="2026-04", plans=[TIERED_A, TIERED_B],
        phases=[("tiered-a", "2026-01-01 00:00:00", "2026-04-16 00:00:00"), ("tiered-b", "2026-04-16 00:00:00", None)],
        events=[(150, "2026-04-10 12:00:00"), (150, "2026-04-20 12:00:00")],
        lines=[("plan_base", "tiered-a", 0.5, 1000, 500), ("plan_base", "tiered-b", 0.5, 1500, 750),
               ("overage", "tiered-a", 150, None, 550), ("overage", "tiered-b", 150, None, 550),
               ("tax", None, 1, None, 235)],
        total=2585),
    # A no-op plan change (same version, a new phase from Apr 16) changes nothing: one base line for the
    # whole month, 1,000 requests with 300 included: (1000 - 300) x 1c = 700; 3000 + 700 = 3700; GST 370.
    "no-op plan change": dict(
        month="2026-04", plans=[NOT_PRORATED],
        phases=[("fixed-included", "2026-01-01 00:00:00", "2026-04-16 00:00:00"),
                ("fixed-included", "2026-04-16 00:00:00", None)],
        events=[(400, "2026-04-10 12:00:00"), (600, "2026-04-20 12:00:00")],
        lines=[("plan_base", "fixed-included", 1, 3000, 3000), ("overage", "fixed-included", 700, 1, 700),
               ("tax", None, 1, None, 370)],
        total=4070),
    # included_quantity_prorated = false: a subscription starting Apr 16 gets all 300 included requests.
    #   base 0.5 x 3000 = 1500; (500 - 300) x 1c = 200; subtotal 1700; GST 170; total 1870
    "included quantity not prorated": dict(
        month="2026-04", plans=[NOT_PRORATED],
        phases=[("fixed-included", "2026-04-16 00:00:00", None)],
        events=[(500, "2026-04-20 12:00:00")],
        lines=[("plan_base", "fixed-included", 0.5, 3000, 1500), ("overage", "fixed-included", 200, 1, 200),
               ("tax", None, 1, None, 170)],
        total=1870),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_plan_phase(tmp_path, case):
    world = ScenarioWorld(tmp_path)
    for plan in case["plans"]:
        world.plan(Plan(plan.version_id, plan.base_fee, [dict(c) for c in plan.charges]))
    world.subscribe("sub", case["phases"])
    for quantity, occurred in case["events"]:
        world.event("requests", quantity, occurred)
    world.close(case["month"])
    assert world.lines(case["month"]) == [(k, v, exact(q), u, a) for k, v, q, u, a in case["lines"]]
    assert world.total(case["month"]) == case["total"]

