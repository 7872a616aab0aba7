"""Properties of usage attribution (hypothesis, through the real metering SQL): wherever an event
falls in a month with two subscriptions on one deployment, it is billed once or, outside both
billable windows, listed as unbilled; never twice, never lost."""

from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.revenue.invoicing.scenarios.world import Plan, ScenarioWorld

APRIL = datetime(2026, 4, 1)
# sub-a until Apr 10 00:00; sub-b from Apr 20 00:00 with a trial until Apr 25 00:00.
WINDOWS = {"sub-a": (datetime(2026, 3, 1), datetime(2026, 4, 10)), "sub-b": (datetime(2026, 4, 25), None)}


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offsets=st.lists(st.integers(min_value=0, max_value=30 * 86400 - 1), min_size=1, max_size=25))
def test_every_event_is_billed_once_or_listed_unbilled(tmp_path_factory, offsets):
    world = ScenarioWorld(tmp_path_factory.mktemp("attribution"))
    world.plan(Plan("flat", 3000, [{"metric": "requests", "charge_model": "per_unit", "unit_amount_decimal": "1"}]))
    world.subscribe("sub-a", [("flat", "2026-03-01 00:00:00", None)], canceled="2026-04-10 00:00:00")
    world.subscribe("sub-b", [("flat", "2026-04-20 00:00:00", None)], trial_ends="2026-04-25 00:00:00")
    times = [APRIL + timedelta(seconds=s) for s in offsets]
    for n, at in enumerate(times):
        world.event("requests", 10 ** n % 1_000_003 + 1, f"{at:%Y-%m-%d %H:%M:%S}")
    world.close("2026-04")
    quantities = [10 ** n % 1_000_003 + 1 for n in range(len(times))]
    billable = sum(q for q, at in zip(quantities, times, strict=True)
                   if any(start <= at < (end or datetime.max) for start, end in WINDOWS.values()))
    billed = sum(q for k, _, q, _, _ in world.lines("2026-04") if k == "overage")
    unbilled = sum(q for _, _, q in world.unbilled("2026-04"))
    assert billed == billable
    assert billed + unbilled == sum(quantities)
