"""Cost of goods on the sample world: every month ties to the DigitalOcean invoice to the cent."""


import duckdb
import pyarrow.parquet as pq
import pytest

from billing_assets.sample_world.world import REUSED_NAME, STRAY_DROPLET
from tests.conftest import copy_world

PIPELINE = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
            "source_cloud_resources", "do_resources", "do_invoices", "do_cost_lines", "cost_line_matches",
            "deployment_costs", "focus_cost_rows"]


@pytest.fixture(scope="module")
def closed(tmp_path_factory, world_template):
    """January to October closed once; the tests using it only read."""
    env = copy_world(world_template, tmp_path_factory.mktemp("cogs-closed"))
    assert env.month_close("2026-01-01", "2026-10-01").success
    return env


def test_every_month_ties_out_to_the_invoice(closed):
    with closed.connect() as conn:
        rows = conn.execute(
            "SELECT i.period_start, i.amount_minor, c.total, l.total FROM ingest.do_invoices i "
            "JOIN (SELECT period_start, sum(amount_minor) total FROM cogs.deployment_costs GROUP BY 1) c USING (period_start) "
            "JOIN (SELECT period_start, sum(amount_minor) total FROM ingest.do_cost_lines GROUP BY 1) l USING (period_start) "
            "ORDER BY 1").fetchall()
        focus = conn.execute('SELECT "InvoiceId", sum("BilledCost") FROM cogs.focus_cost_rows GROUP BY 1').fetchall()
    assert len(rows) == 10 and all(invoice == costs == lines for _, invoice, costs, lines in rows)
    assert len(focus) == 10


def test_deliberately_unmatched_lines_are_unallocated(closed):
    with closed.connect() as conn:
        reasons = dict(conn.execute(
            "SELECT unallocated_reason, list(DISTINCT product ORDER BY product) FROM cogs.cost_line_matches "
            "WHERE deployment_id IS NULL GROUP BY 1").fetchall())
        stray = conn.execute("SELECT strftime(period_start, '%Y-%m'), unallocated_reason FROM cogs.cost_line_matches "
                             "WHERE description LIKE ?", [f"{STRAY_DROPLET} %"]).fetchall()
        reused = conn.execute(
            "SELECT strftime(m.period_start, '%Y-%m'), d.slug FROM cogs.cost_line_matches m JOIN staging.deployments d "
            "USING (deployment_id) WHERE m.description LIKE ? AND m.period_start = '2026-03-01' ORDER BY 2",
            [f"{REUSED_NAME} %"]).fetchall()
    assert reasons == {"provider_tax": ["Taxes"], "account_level": ["Spaces Subscription"],
                       "unknown_resource": ["Droplets"]}
    assert stray == [("2026-03", "unknown_resource")]
    assert reused == [("2026-03", "redwood-blog"), ("2026-03", "redwood-shop")]


def test_checks_report_match_rate_and_unknown_spend(env):
    result = env.materialize(PIPELINE, partition_key="2026-03-01")
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["totals_tie_out"].passed and checks["billed_cost_equals_invoice"].passed
    assert checks["match_rate"].passed and checks["match_rate"].metadata["match_rate"].value < 1
    unknown = checks["unknown_provider_resources"]
    assert not unknown.passed and unknown.metadata["unknown_cost_minor"].value == 539
    assert STRAY_DROPLET in unknown.metadata["spend_owned_by_no_deployment"].value


@pytest.mark.parametrize("method", ["even", "proportional"])
def test_shared_cost_allocation_keeps_the_total(env, method):
    config = {"ops": {"deployment_costs": {"config": {"shared_cost_allocation": method}}}}
    result = env.materialize(PIPELINE, partition_key="2026-04-01", run_config=config)
    assert all(c.passed for c in result.get_asset_check_evaluations() if c.check_name == "totals_tie_out")
    with env.connect() as conn:
        by_type = dict(conn.execute("SELECT cost_type, sum(amount_minor) FROM cogs.deployment_costs GROUP BY 1")
                       .fetchall())
        invoice = conn.execute("SELECT amount_minor FROM ingest.do_invoices WHERE period_start = '2026-04-01'"
                               ).fetchone()[0]
    assert sum(by_type.values()) == invoice and by_type["shared_allocation"] > 0
    assert "unallocated" not in by_type  # April has no unknown spend; tax and Spaces are spread


def test_focus_export_and_idempotency(env):
    env.materialize(PIPELINE, partition_key="2026-04-01")
    table = pq.read_table(env.root / "exports" / "focus" / "focus_cost_rows_2026-04.parquet")
    assert {"BilledCost", "ServiceProviderName", "HostProviderName", "ChargeCategory", "InvoiceId"} <= set(
        table.column_names)
    assert set(table.column("ChargeCategory").to_pylist()) == {"Usage", "Tax"}
    with env.connect() as conn:
        first = [conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                 for t in ("cogs.cost_line_matches", "cogs.deployment_costs", "cogs.focus_cost_rows")]
    first_bytes = (env.root / "exports" / "focus" / "focus_cost_rows_2026-04.parquet").read_bytes()
    env.materialize(PIPELINE, partition_key="2026-04-01")
    with env.connect() as conn:
        assert [conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall()
                for t in ("cogs.cost_line_matches", "cogs.deployment_costs", "cogs.focus_cost_rows")] == first
    assert (env.root / "exports" / "focus" / "focus_cost_rows_2026-04.parquet").read_bytes() == first_bytes


def test_a_line_that_does_not_tie_out_blocks_and_is_named(env):
    env.materialize(PIPELINE[:-3], partition_key="2026-04-01")
    with duckdb.connect(str(env.warehouse_path)) as conn:  # simulate a dropped line downstream of the checks
        conn.execute("DELETE FROM ingest.do_cost_lines WHERE line_number = 1 AND period_start = '2026-04-01'")
    result = env.materialize(["cost_line_matches", "deployment_costs"], partition_key="2026-04-01",
                             raise_on_error=False)
    check = {c.check_name: c for c in result.get_asset_check_evaluations()}["totals_tie_out"]
    assert not check.passed and "2026-04" in check.metadata["details"].value
