"""The marts on the sample world: cost ties to the bill, revenue to issued invoices; analyst queries run."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

from billing_assets.jobs import freshness_checks
from billing_assets.margin.assets import fx_rates_text, parse_fx_rates
from billing_assets.margin.chart import revenue_cost_markdown, revenue_cost_svg
from billing_assets.sample_world import WorldParams

README = Path(__file__).resolve().parents[2] / "README.md"
FIRST, LAST = (f"{p.start:%Y-%m-%d}" for p in (WorldParams().periods[0], WorldParams().periods[-1]))


@pytest.fixture
def closed(closed_year):
    return closed_year


def test_cost_ties_to_the_bill_and_revenue_to_issued_invoices(closed):
    with closed.connect() as conn:
        cost = conn.execute(
            "SELECT i.period_start, i.amount_minor, sum(m.cost_usd_minor) FROM ingest.do_invoices i "
            "JOIN marts.deployment_margin m USING (period_start) GROUP BY ALL ORDER BY 1").fetchall()
        revenue = conn.execute(
            "SELECT i.period_start, i.currency, i.subtotal, m.revenue FROM "
            "(SELECT period_start, currency, sum(subtotal_minor) subtotal FROM marts.tenant_invoices "
            " WHERE status <> 'draft' GROUP BY ALL) i JOIN "
            "(SELECT period_start, currency, sum(revenue_minor) revenue FROM marts.deployment_margin "
            " WHERE currency IS NOT NULL GROUP BY ALL) m USING (period_start, currency) ORDER BY 1, 2").fetchall()
        pnl = conn.execute("SELECT count(*), sum(draft_revenue_usd_minor) FROM marts.monthly_pnl").fetchone()
        drift = conn.execute("SELECT count(*) FROM marts.reconciliation_report WHERE drift_minor <> 0").fetchone()[0]
        steps = conn.execute("SELECT count(DISTINCT step) FROM marts.reconciliation_report").fetchone()[0]
    assert len(cost) == 10 and all(invoice == mart for _, invoice, mart in cost)
    assert len(revenue) == 20 and all(a == b for _, _, a, b in revenue)  # USD and JPY, every month
    assert pnl == (10, 0) and drift == 0 and steps == 6
    checks = closed.last_result.get_asset_check_evaluations()
    # Not judged here: negative_margin (a WARN the next test reads) and the freshness check, which compares the
    # clock with the last closed month: the sample world ends in 2026-10, so it fails whenever the clock is past
    # 2026-11-02, as it should.
    clock = {key.name for check in freshness_checks for key in check.check_keys}
    assert all(c.passed for c in checks if c.asset_key.path[0] in ("deployment_margin", "reconciliation_report")
               and c.check_name != "negative_margin" and c.check_name not in clock)


@pytest.mark.parametrize(("now", "due", "fresh"), [
    # Before 00:00 UTC on 2 November the deadline in force is 2 October's, so September is the month due.
    (datetime(2026, 11, 1, 23, 59, tzinfo=UTC), "2026-09-01", True),
    (datetime(2026, 11, 2, 0, 0, tzinfo=UTC), "2026-10-01", True),  # October: the sample year's last month
    (datetime(2026, 12, 7, 12, 0, tzinfo=UTC), "2026-11-01", False),  # November: never closed
])
def test_last_months_invoices_and_margin_are_due_by_the_2nd(closed, now, due, fresh):
    """The freshness check of the month close, run alone at a pinned clock on the closed sample year
    (2026-01..10): it asks for the month before the latest deadline (00:00 UTC on the 2nd)."""
    from dagster._core.test_utils import freeze_time  # Dagster's own clock for the check; nothing else here

    only = dg.define_asset_job("freshness_only", selection=dg.AssetSelection.checks(*freshness_checks))
    defs = dg.Definitions.merge(closed.defs, dg.Definitions(jobs=[only]))
    with freeze_time(now):
        result = defs.resolve_job_def("freshness_only").execute_in_process(instance=closed.instance)
    evaluations = result.get_asset_check_evaluations()
    assert sorted(e.asset_key.path[0] for e in evaluations) == ["deployment_margin", "tenant_invoices"]
    assert all(e.passed is fresh and f"partition {due}" in e.description for e in evaluations)
    assert all(e.severity == dg.AssetCheckSeverity.WARN for e in evaluations)  # blocks nothing


def test_negative_margin_warns_with_revenue_cost_and_driver(closed):
    (check,) = [c for c in closed.last_result.get_asset_check_evaluations() if c.check_name == "negative_margin"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN  # warns, blocks nothing
    table = check.metadata["details"].value
    # luxor-infer, October: its plan's $300.00 against the $2,570.16 DigitalOcean billed for its GPU
    # droplets (the sample world's figures), margin 300.00 - 2,570.16 = -2,270.16.
    assert "| 2026-10 | deployment | luxor-ai | luxor-infer | 300.00 | 2,570.16 | -2,270.16 | droplet |" in table
    # luxor-ai as a tenant: its three deployments together still lose money that month.
    assert re.search(r"\| 2026-10 \| tenant \| luxor-ai \| {2}\| [0-9,.]+ \| [0-9,.]+ \| -[0-9,.]+ \| droplet \|", table)
    assert "luxor-train" not in table  # profitable deployments are not listed


def test_readme_analyst_queries_run_as_written(closed):
    section = README.read_text().split("## For analysts", 1)[1].split("\n## ", 1)[0]
    queries = re.findall(r"```sql\n(.*?)```", section, flags=re.S)
    assert len(queries) >= 3
    with closed.connect() as conn:
        results = [conn.execute(q).fetchall() for q in queries]
    assert all(results)
    assert results[0][0][1] == "luxor-infer"  # the GPU deployment costs more than it earns


def test_each_month_of_a_range_run_carries_its_own_metadata_and_chart(closed):
    def latest(month: str) -> dict:
        (record,) = closed.instance.fetch_materializations(dg.AssetRecordsFilter(
            asset_key=dg.AssetKey("deployment_margin"), asset_partitions=[month]), limit=1).records
        return record.asset_materialization.metadata

    april, october = latest("2026-04-01"), latest(LAST)
    assert april["month"].value == "2026-04" and october["month"].value == "2026-10"
    assert "2026-04 (USD)" in april["revenue_vs_cost_chart"].value  # not the range's last month
    assert "luxor-infer" in october["bottom_deployments_by_margin"].value
    chart = october["revenue_vs_cost_chart"].value  # inline on the asset page: markdown under 1,000 characters
    assert chart.startswith("**Revenue vs cost per deployment, 2026-10 (USD)**") and len(chart) < 1000
    assert "| unallocated cost |" in chart and "| harbour-health (tenant-level) |" in chart  # separate bars
    files = {m: Path(meta["chart_file"].value) for m, meta in (("2026-04", april), ("2026-10", october))}
    assert files["2026-04"].name == "deployment_margin_chart_2026-04.svg" and files["2026-04"] != files["2026-10"]
    assert all(f.read_text().startswith("<svg") for f in files.values())  # every month kept, none overwritten
    exports = sorted(p.name for p in (closed.root / "exports" / "marts").iterdir())
    assert "deployment_margin_2026-10.parquet" in exports and "monthly_pnl_2026-04.csv" in exports


def test_every_monthly_asset_shows_each_months_own_figures_after_a_range_run(closed):
    """The range run recorded one result on all ten months, then each month's own materialization:
    the latest of every partition must count that month's rows, as the warehouse holds them."""
    monthly = {  # asset -> (table, its month column)
        "do_invoices": ("ingest.do_invoices", "period_start"),
        "do_cost_lines": ("ingest.do_cost_lines", "period_start"),
        "cost_line_matches": ("cogs.cost_line_matches", "period_start"),
        "deployment_costs": ("cogs.deployment_costs", "period_start"),
        "focus_cost_rows": ("cogs.focus_cost_rows", '"BillingPeriodStart"'),
        "metered_usage": ("revenue.metered_usage", "period_start"),
        "tenant_invoices": ("revenue.tenant_invoices", "period_start"),
        "credit_ledger": ("revenue.credit_ledger", "period_start"),
        "deployment_margin": ("margin.deployment_margin", "period_start"),
        "reconciliation_report": ("margin.reconciliation_report", "period_start"),
    }
    with closed.connect() as conn:
        for asset, (table, column) in monthly.items():
            whole = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
            for month in ("2026-04-01", "2026-10-01"):
                (record,) = closed.instance.fetch_materializations(dg.AssetRecordsFilter(
                    asset_key=dg.AssetKey(asset), asset_partitions=[month]), limit=1).records
                metadata = record.asset_materialization.metadata
                expected = conn.execute(f"SELECT count(*) FROM {table} WHERE {column} = ?",
                                        [month]).fetchone()[0]
                assert metadata["dagster/row_count"].value == expected, (asset, month)
                assert "window" not in metadata and metadata["dagster/column_schema"], (asset, month)
                assert 0 < expected < whole, (asset, month)  # a month's figure, not the range's


def test_markdown_chart_stays_inline_however_many_deployments():
    rows = [(f"deployment-{i:03d}", 100 * i, 90 * i) for i in range(300)]
    chart = revenue_cost_markdown("t", rows)
    assert len(chart) <= 990 and "| deployment-000 |" in chart and "| deployment-299 |" in chart  # both ends
    hidden = int(re.search(r"… (\d+) more", chart).group(1))
    assert hidden + chart.count("| deployment-") == 300
    # Bars share one scale: 12 cells for the largest figure (29,900 cents), 0 for zero.
    assert "| deployment-299 | ▇▇▇▇▇▇▇▇▇▇▇▇ 299.00 |" in chart and "| deployment-000 |  0.00 |  0.00 |" in chart


def test_chart_is_deterministic_and_escapes_labels():
    svg = revenue_cost_svg("t", [("<b>&", 100, 50), ("x", -20, 0)])
    assert svg == revenue_cost_svg("t", [("<b>&", 100, 50), ("x", -20, 0)])
    assert "&lt;b&gt;&amp;" in svg and "<b>" not in svg


def test_missing_fx_rate_stops_the_marts_with_a_clear_error(env, tmp_path):
    fx = tmp_path / "fx.csv"
    fx.write_text("currency,month,usd_per_unit\n")
    result = env.month_close("2026-04-01", "2026-04-01", raise_on_error=False,
                             run_config={"ops": {"margin_marts": {"config": {"fx_rates_csv": str(fx)}}}})
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert "no USD rate for JPY 2026-04" in failure.event_specific_data.error.message
    with env.connect() as conn:
        assert conn.execute("SELECT count(*) FROM margin.deployment_margin").fetchone()[0] == 0


def test_the_deployments_fx_table_stops_an_unattended_close_naming_it(env, tmp_path, monkeypatch):
    """A scheduled close carries no run config: BILLING_FX_RATES_CSV is the table it reads."""
    fx = tmp_path / "fx.csv"
    fx.write_text("currency,month,usd_per_unit\n")
    monkeypatch.setenv("BILLING_FX_RATES_CSV", str(fx))
    result = env.month_close("2026-04-01", "2026-04-01", raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert f"no USD rate for JPY 2026-04: add them to BILLING_FX_RATES_CSV {fx}" in failure.event_specific_data.error.message


def test_run_config_then_the_deployment_setting_then_the_shipped_fx_table(tmp_path, monkeypatch):
    deployed, one_run = tmp_path / "deployed.csv", tmp_path / "one_run.csv"
    deployed.write_text("currency,month,usd_per_unit\nJPY,2026-11,0.00650\n")
    one_run.write_text("currency,month,usd_per_unit\nJPY,2026-11,0.00700\n")
    monkeypatch.delenv("BILLING_FX_RATES_CSV", raising=False)
    assert fx_rates_text(None)[0] == "billing_assets.margin/fx_rates.csv"
    monkeypatch.setenv("BILLING_FX_RATES_CSV", str(deployed))
    assert parse_fx_rates(*fx_rates_text(None)) == [("JPY", "2026-11", Decimal("0.00650"))]
    assert parse_fx_rates(*fx_rates_text(str(one_run))) == [("JPY", "2026-11", Decimal("0.00700"))]
    monkeypatch.setenv("BILLING_FX_RATES_CSV", "/nowhere/fx.csv")
    with pytest.raises(dg.Failure, match="BILLING_FX_RATES_CSV /nowhere/fx.csv does not exist"):
        fx_rates_text(None)


def test_the_shipped_fx_table_is_read_from_the_package():
    name, text = fx_rates_text(None)
    assert name == "billing_assets.margin/fx_rates.csv"
    rows = parse_fx_rates(name, text)
    assert rows and all(isinstance(rate, Decimal) and rate > 0 for _, _, rate in rows)


@pytest.mark.parametrize(("body", "line"), [
    ("currency,month,usd_per_unit\nAUD,2026-04,0.65\nAUD,2026-05,abc\n", 3),
    ("currency,month,usd_per_unit\nAUD,2026-04,-0.65\n", 2),
    ("currency,month,usd_per_unit\nAUD,2026-04,NaN\n", 2),
    ("currency,month\nAUD,2026-04\n", 2),
])
def test_a_bad_fx_row_fails_naming_its_file_and_line(tmp_path, body, line):
    path = tmp_path / "fx.csv"
    path.write_text(body)
    with pytest.raises(dg.Failure, match=rf"{re.escape(str(path))} line {line}: needs currency, month and a positive"):
        parse_fx_rates(*fx_rates_text(str(path)))


def test_a_missing_fx_file_is_named():
    with pytest.raises(dg.Failure, match="fx_rates_csv /nowhere/fx.csv does not exist"):
        fx_rates_text("/nowhere/fx.csv")
