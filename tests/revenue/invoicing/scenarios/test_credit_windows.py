"""Credit grants: usable on the invoice of period P when effective_from < P.end and (expires_at is
null or expires_at > P.start); the balance is what earlier periods' documents did not consume.
$30 flat plan, no usage; GST 10% on the amount after credits; figures worked out by hand."""

from tests.revenue.invoicing.scenarios.world import Plan, ScenarioWorld


def world(tmp_path) -> ScenarioWorld:
    w = ScenarioWorld(tmp_path)
    w.plan(Plan("flat", 3000))
    w.subscribe("sub", [("flat", "2026-01-01 00:00:00", None)])
    return w


def test_a_credit_granted_mid_month_applies_to_that_month(tmp_path):
    w = world(tmp_path)
    w.grant("g-mid", 1000, "2026-04-15 00:00:00")  # effective Apr 15 < Apr end: April may use it
    w.close("2026-03")
    w.close("2026-04")
    w.close("2026-05")
    assert w.documents("2026-03")[0][3:] == (3000, 300, 3300)  # March: not yet effective
    # April: 3000 - 1000 = 2000; GST 200; total 2200. May: nothing left, 3000 + 300.
    assert w.lines("2026-04", ("credit",)) == [("credit", None, 1, -1000, -1000)]
    assert w.documents("2026-04")[0][3:] == (2000, 200, 2200)
    assert w.documents("2026-05")[0][3:] == (3000, 300, 3300)


def test_a_credit_expiring_mid_month_still_applies_to_that_month_and_no_later(tmp_path):
    w = world(tmp_path)
    w.grant("g-exp", 5000, "2026-03-01 00:00:00", "2026-04-15 00:00:00")
    for month in ("2026-03", "2026-04", "2026-05"):
        w.close(month)
    # March consumes 3000 (subtotal 0, GST 0); April: expires Apr 15 > Apr 1, usable: the remaining
    # 2000 -> 3000 - 2000 = 1000, GST 100; May: expired (Apr 15 <= May 1): 3000, GST 300.
    assert w.documents("2026-03")[0][3:] == (0, 0, 0)
    assert w.documents("2026-04")[0][3:] == (1000, 100, 1100)
    assert w.documents("2026-05")[0][3:] == (3000, 300, 3300)
