"""The running month (issue 20): usage so far under the month close's rules, event usage projected at its
run-rate, running resources counted to month end, rated by the same quote engine; bill-shock alerts once
per month; and, after the cut-off, the estimate is the month close's invoice. Every figure is worked out
by hand in the comment beside it (GST 10%, half-up)."""

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest

from billing_assets.periods import month_period
from billing_assets.revenue.estimates.projection import (
    PREVIOUS_MONTH_THRESHOLDS,
    EstimateError,
    Reference,
    RunRate,
    check_thresholds,
    crossed,
    project_since,
    reference_for,
    to_usd_minor,
)
from tests.revenue.invoicing.scenarios.world import DEPLOYMENT, TENANT, Plan, ScenarioWorld

APRIL = month_period(2026, 4)  # 30 days = 2,592,000 s
SNAPSHOT = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
            "source_cloud_resources", "source_usage_events"]
ESTIMATE = [*SNAPSHOT, "month_to_date_estimate"]


# --- the arithmetic ------------------------------------------------------------------------------

def test_the_run_rate_is_month_over_elapsed_half_up():
    rate = RunRate(APRIL, datetime(2026, 4, 10, 12, tzinfo=UTC))
    assert (rate.month_seconds, rate.elapsed_seconds) == (2_592_000, 820_800)   # 9.5 days
    assert rate.project(300) == 947             # 300 x 30 / 9.5 = 947.37 -> 947
    assert rate.project(19) == 60               # 19 x 30 / 9.5 = 60 exactly
    half = RunRate(APRIL, datetime(2026, 4, 16, tzinfo=UTC))                  # 15 days: x2
    assert half.project(0) == 0 and half.project(7) == 14
    third = RunRate(APRIL, datetime(2026, 4, 11, tzinfo=UTC))                 # 10 days: x3
    assert third.elapsed_fraction == Decimal("0.333333") and third.project(5) == 15
    quarter_day = RunRate(APRIL, datetime(2026, 4, 1, 6, tzinfo=UTC))       # 6 h of 720 h: x120
    assert quarter_day.project(3118) == 374_160
    done = RunRate(APRIL, datetime(2026, 5, 1, 3, tzinfo=UTC))                # after the month: x1
    assert done.complete and done.project(12_345) == 12_345
    with pytest.raises(EstimateError, match="as_of: 2026-04-01 00:00 UTC is not after the start of 2026-04"):
        RunRate(APRIL, datetime(2026, 4, 1, tzinfo=UTC))
    assert project_since(APRIL, datetime(2026, 3, 31, tzinfo=UTC), 100) is None


def test_the_reference_is_the_budget_else_last_month_and_thresholds_compare_exactly():
    assert reference_for(6000, 3749) == Reference("budget", 6000)
    assert reference_for(None, 3749) == Reference("previous_month", 3749)
    assert reference_for(None, 0) is None and reference_for(None, None) is None   # nothing to be shocked by
    budget = Reference("budget", 6000)
    assert crossed(2999, budget, (50, 80, 100)) == []            # 2999 x 100 < 50 x 6000
    assert crossed(3000, budget, (50, 80, 100)) == [50]          # exactly 50%
    assert crossed(4800, budget, (50, 80, 100)) == [50, 80]      # exactly 80%
    assert crossed(5999, budget, (50, 80, 100)) == [50, 80]
    assert crossed(6000, budget, (50, 80, 100)) == [50, 80, 100]
    assert crossed(10**9, None, (50,)) == []
    # Against last month's total the thresholds start above 100% (a steady tenant is at ~100% every month).
    previous = Reference("previous_month", 3749)
    assert crossed(3749, previous, PREVIOUS_MONTH_THRESHOLDS) == []        # exactly last month's total: no news
    assert crossed(4498, previous, PREVIOUS_MONTH_THRESHOLDS) == []        # 449,800 < 120 x 3749 = 449,880
    assert crossed(4499, previous, PREVIOUS_MONTH_THRESHOLDS) == [120]     # 449,900 >= 449,880
    assert crossed(7498, previous, PREVIOUS_MONTH_THRESHOLDS) == [120, 150, 200]   # exactly 200%: 749,800
    assert check_thresholds([50, 80, 100]) == (50, 80, 100)
    for bad in ([], [80, 50], [50, 50], [0, 50], [-10]):
        with pytest.raises(EstimateError, match="alert_thresholds_percent"):
            check_thresholds(bad)


def test_usd_conversion_is_half_up_in_cents():
    assert to_usd_minor(4707, "USD", None) == 4707
    assert to_usd_minor(22000, "JPY", Decimal("0.00668")) == 14696       # 22,000 yen x 0.00668 = 146.96 USD
    assert to_usd_minor(75, "JPY", Decimal("0.0067")) == 50              # 0.5025 USD = 50.25 c -> 50
    assert to_usd_minor(1, "JPY", Decimal("0.005")) == 1                 # 0.5 c -> 1 (half-up)
    assert to_usd_minor(100, "EUR", None) is None


# --- the estimate on a hand-built month -------------------------------------------------------------

# 30.00 a month, requests at 1c each, droplet hours at 1c each.
METERED = Plan("metered", 3000, [{"metric": "requests", "charge_model": "per_unit", "unit_amount_decimal": "1"},
                                 {"metric": "droplet_hours", "charge_model": "per_unit", "unit_amount_decimal": "1"}])


def april_world(tmp_path, budget: int | None = None) -> ScenarioWorld:
    world = ScenarioWorld(tmp_path)
    world.plan(Plan(METERED.version_id, METERED.base_fee, [dict(c) for c in METERED.charges]))
    world.subscribe("sub", [("metered", "2026-01-01 00:00:00", None)])
    for resource, created, deleted in (("drop-a", "2026-03-15 00:00:00", None),
                                       ("drop-b", "2026-04-05 00:00:00", "2026-04-20 00:00:00")):
        world.insert("cloud_resources", resource_id=resource, deployment_id=DEPLOYMENT, provider="digitalocean",
                     kind="droplet", provider_resource_id=None, provider_uuid=None, name=resource,
                     size_slug="s-1vcpu-1gb", region="syd1", created_at=created, deleted_at=deleted)
    world.event("requests", 40, "2026-03-31 20:00:00", "2026-04-02 00:00:00")   # March's, late: billed in April
    world.event("requests", 100, "2026-04-03 10:00:00")
    world.event("requests", 200, "2026-04-08 10:00:00")
    world.event("requests", 50, "2026-04-09 10:00:00", "2026-04-11 00:00:00")   # received after Apr 10 12:00
    if budget is not None:
        world.insert("tenant_budgets", tenant_id=TENANT, amount_minor=budget, currency="USD",
                     updated_at="2026-01-01 00:00:00")
    return world


def estimate(world: ScenarioWorld, as_of: str, month: str = "2026-04", **config):
    result = world.env.materialize(ESTIMATE, run_config={"ops": {"month_to_date_estimate": {"config": {
        "as_of": as_of, "month": month, **config}}}})
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    with world.env.connect() as conn:
        tenant = conn.execute("SELECT subtotal_minor, tax_minor, total_minor, reference_kind, reference_minor, "
                              "percent_of_reference FROM revenue.tenant_estimates WHERE period_start = ?",
                              [f"{month}-01"]).fetchone()
        lines = conn.execute("SELECT kind, quantity, amount_minor FROM revenue.estimate_lines WHERE period_start = ? "
                             "ORDER BY line_number", [f"{month}-01"]).fetchall()
        usage = conn.execute("SELECT metric, source, quantity_to_date, projected_quantity FROM revenue.estimate_usage "
                             "WHERE period_start = ? ORDER BY metric", [f"{month}-01"]).fetchall()
        alerts = conn.execute("SELECT threshold_percent, reference_kind, projected_total_minor, as_of FROM "
                              "revenue.budget_alerts ORDER BY threshold_percent").fetchall()
    return tenant, [(k, int(q), a) for k, q, a in lines], usage, alerts, checks


def test_mid_month_projects_events_at_their_rate_and_running_resources_to_month_end(tmp_path):
    world = april_world(tmp_path)
    tenant, lines, usage, _, _ = estimate(world, "2026-04-10T12:00:00Z")
    # Known at Apr 10 12:00 (9.5 of 30 days): requests 100 + 200 on time (the 50 received Apr 11 is not yet
    # known), March's late 40. drop-a has run since Apr 1: 9.5 days = 228 h so far, 720 h to month end;
    # drop-b (deleted Apr 20, unknown then) has run 5.5 days = 132 h, 26 days = 624 h to month end.
    assert usage == [("droplet_hours", "resources", 228 + 132, 720 + 624),
                     # events so far include March's late 40; only April's 300 are projected: 300 x 30 / 9.5 =
                     # 947.37 -> 947, plus the 40 (a fact, not a rate) = 987
                     ("requests", "events", 340, 987)]
    # 3000 base + 947 requests + 1344 droplet hours + 40 (March's late requests) = 5331; GST 533.1 -> 533
    assert lines == [("plan_base", 1, 3000), ("overage", 1344, 1344), ("overage", 947, 947),
                     ("prior_period_usage", 40, 40), ("tax", 1, 533)]
    assert tenant == (5331, 533, 5864, None, None, None)   # no budget, no closed March: no reference
    with world.env.connect() as conn:                       # the month close's tables are as they were
        assert conn.execute("SELECT count(*) FROM revenue.billable_usage").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM revenue.metered_usage").fetchone()[0] == 0


def test_after_the_cut_off_the_estimate_is_the_invoice_and_last_month_is_the_reference(tmp_path):
    world = april_world(tmp_path)
    world.close("2026-03")
    # March: 3000 + drop-a Mar 15..Apr 1 = 17 days = 408 h -> 408 (the 40 requests came after March's cut-off)
    # = 3408; GST 340.8 -> 341; total 3749.
    assert world.total("2026-03") == 3749
    tenant, lines, usage, alerts, _ = estimate(world, "2026-05-01T03:00:00Z")
    # Everything is known and nothing is projected: requests 100 + 200 + 50 = 350, March's late 40;
    # drop-a 720 h, drop-b Apr 5..Apr 20 = 360 h.  3000 + 1080 + 350 + 40 = 4470; GST 447; total 4917.
    assert tenant == (4470, 447, 4917, "previous_month", 3749, Decimal("131.2"))   # 4917 / 3749 = 131.16%
    # Against last month the thresholds are 120/150/200%: 491,700 >= 120 x 3749 = 449,880, < 150 x 3749 =
    # 562,350. One alert, where 50/80/100% would have raised three for a tenant merely as busy as before.
    assert alerts == [(120, "previous_month", 4917, datetime(2026, 5, 1, 3))]
    assert ("droplet_hours", "resources", 1080, 1080) in usage and ("requests", "events", 390, 390) in usage
    world.close("2026-04")
    assert world.documents("2026-04") == [(None, "invoice", "draft", 4470, 447, 4917)]
    assert lines == [(k, int(q), a) for k, _, q, _, a in world.lines("2026-04")]
    with world.env.connect() as conn:  # line for line, descriptions included
        assert conn.execute("SELECT kind, description, quantity, amount_minor, deployment_id, metric FROM "
                            "revenue.estimate_lines ORDER BY line_number").fetchall() == conn.execute(
            "SELECT kind, description, quantity, amount_minor, deployment_id, metric FROM revenue.tenant_invoice_lines "
            "JOIN revenue.tenant_invoices USING (invoice_id) WHERE period_start = '2026-04-01' ORDER BY line_number"
        ).fetchall()


def test_bill_shock_alerts_wait_a_day_then_fire_once_per_threshold_and_month(tmp_path):
    world = april_world(tmp_path, budget=6000)
    # Apr 1 06:00: 3000 + drop-a 720 h (March's late 40 arrive on Apr 2: not known yet) = 3720; GST 372 ->
    # 4092 = 68.2% of 6000. Over 50%, but a run-rate of six hours is noise: no alert before 24 hours.
    tenant, _, _, alerts, checks = estimate(world, "2026-04-01T06:00:00Z")
    assert tenant[2:] == (4092, "budget", 6000, Decimal("68.2")) and alerts == []
    assert checks["no_new_bill_shock"].passed
    # Apr 10 12:00: 5864 (as above) = 97.7% of 6000: 50% and 80% crossed, both new.
    tenant, _, _, alerts, checks = estimate(world, "2026-04-10T12:00:00Z")
    assert tenant[2:] == (5864, "budget", 6000, Decimal("97.7"))
    assert alerts == [(50, "budget", 5864, datetime(2026, 4, 10, 12)), (80, "budget", 5864, datetime(2026, 4, 10, 12))]
    assert not checks["no_new_bill_shock"].passed
    assert checks["no_new_bill_shock"].metadata["new_alerts"].value == 2
    assert "| solo | 80% | USD 58.64 | budget USD 60.00 | 97.7% |" in checks["no_new_bill_shock"].metadata["details"].value
    # The same hour again: still 97.7%, nothing new to say.
    *_, alerts, checks = estimate(world, "2026-04-10T12:00:00Z")
    assert len(alerts) == 2 and checks["no_new_bill_shock"].passed
    # A burst of 1,000 requests at 12:30; at 13:00 (824,400 s run): 1,300 x 2,592,000 / 824,400 = 4087.3 -> 4087;
    # 3000 + 4087 + 1344 + 40 = 8471; GST 847.1 -> 847; total 9318 = 155.3%: only 100% is new.
    world.event("requests", 1000, "2026-04-10 12:30:00")
    tenant, _, _, alerts, checks = estimate(world, "2026-04-10T13:00:00Z")
    assert tenant[2:] == (9318, "budget", 6000, Decimal("155.3"))
    assert [a[:3] for a in alerts] == [(50, "budget", 5864), (80, "budget", 5864), (100, "budget", 9318)]
    assert checks["no_new_bill_shock"].metadata["new_alerts"].value == 1


def test_bad_budgets_are_refused_by_name_and_the_tenant_is_still_estimated_and_invoiced(tmp_path):
    world = april_world(tmp_path)
    world.insert("tenant_budgets", tenant_id=TENANT, amount_minor=5000, currency="EUR",
                 updated_at="2026-01-01 00:00:00")
    result = world.env.materialize(SNAPSHOT)
    check = next(c for c in result.get_asset_check_evaluations() if c.check_name == "source_rows_valid")
    assert not check.passed
    assert "tenant_budgets t-1: currency = 'EUR': not the tenant's currency (USD) (tenant unknown)" in (
        check.metadata["details"].value)
    tenant, *_ = estimate(world, "2026-04-10T12:00:00Z")
    assert tenant == (5331, 533, 5864, None, None, None)       # estimated, without the refused budget
    world.close("2026-04")
    assert world.documents("2026-04")[0][5] > 0                  # and invoiced


def test_the_live_margin_sets_projected_revenue_beside_digitaloceans_month_to_date_balance(env):
    from billing_assets.margin.assets import load_reference_data

    def run(as_of: str) -> tuple:
        result = env.materialize([*SNAPSHOT, "do_balance_snapshots", "month_to_date_estimate", "analyst_warehouse"],
                                 run_config={"ops": {"month_to_date_estimate": {"config": {
                                     "as_of": as_of, "month": "2026-11"}}}})
        checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        with env.connect() as conn:
            margin = conn.execute(
                "SELECT projected_revenue_usd_minor, missing_fx, do_month_to_date_usage_minor, do_generated_at, "
                "projected_do_cost_usd_minor, projected_margin_usd_minor FROM revenue.estimate_runs WHERE as_of = ?",
                [as_of[:19].replace("T", " ")]).fetchone()
            usd = {slug: (subtotal, in_usd) for slug, subtotal, in_usd in conn.execute(
                "SELECT t.slug, e.subtotal_minor, e.subtotal_usd_minor FROM revenue.tenant_estimates e "
                "JOIN staging.tenants t USING (tenant_id)").fetchall()}
        return checks["do_balance_current"], margin, usd

    # The sample account's balance: USD 31.18 used by 2026-11-01 06:00, a quarter of a day into November:
    # 3118 x 720 h / 6 h = 374,160 projected. No FX table loaded yet: tokyo-works' yen cannot be converted,
    # so the revenue leaves it out and no margin is given. The balance is an hour old: current.
    current, margin, usd = run("2026-11-01T07:00:00Z")
    revenue, missing, so_far, generated, cost, result = margin
    assert (current, missing, so_far, generated, cost, result) == (True, "JPY", 3118, datetime(2026, 11, 1, 6),
                                                                    374_160, None)
    assert usd["tokyo-works"][1] is None and revenue == sum(v[1] for v in usd.values() if v[1] is not None)
    with env.resources["warehouse"].connect() as conn:
        load_reference_data(conn, None)   # the shipped FX table, as margin_marts loads it
    # Six hours on, the same balance is stale (WARN). November has no yen rate yet: October's 0.00668 is used.
    # tokyo-works: two studio-jp base fees 7,500 + 7,500, priority support 5,000, its launch promotion's
    # 3,000 (no earlier month was invoiced in this warehouse, so none of it is consumed) = JPY 17,000;
    # no November usage known by 12:00 on the 1st. 17,000 x 0.00668 = USD 113.56.
    current, margin, usd = run("2026-11-01T12:00:00Z")
    revenue, missing, so_far, generated, cost, result = margin
    assert not current and missing is None and usd["tokyo-works"] == (17_000, 11_356)
    assert result == revenue - 374_160 and revenue == sum(v[1] for v in usd.values())
    with duckdb.connect(str(env.root / "exports" / "warehouse.duckdb"), read_only=True) as copy:  # the analysts'
        assert copy.execute("SELECT max(as_of) FROM marts.month_to_date_margin").fetchone()[0] == datetime(
            2026, 11, 1, 12)                              # copy is refreshed after the estimate, in the same run
