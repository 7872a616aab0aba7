"""The dashboard in Debian's chromium, headless, from file:// (no server): the charts render as SVG,
nothing is logged as an error, and the figures on the page are the marts' to the cent."""

import subprocess

import duckdb
import pytest

from tests.test_operator_ui import ARTIFACTS, chromium

pytestmark = pytest.mark.slow


def usd(minor: int) -> str:
    """The marts' cents written as a person writes dollars (independent of the dashboard's formatter)."""
    return ("-" if minor < 0 else "") + f"${abs(minor) // 100:,}.{abs(minor) % 100:02d}"


def open_page(browser: str, page, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           "--window-size=1280,3200", "--virtual-time-budget=15000", "--enable-logging=stderr",
                           "--v=0", *args, page.as_uri()], capture_output=True, text=True, timeout=120)


def test_the_dashboard_renders_offline_with_the_marts_figures(year):
    browser = chromium()
    folder = year.root / "exports" / "dashboard"
    page = folder / "dashboard_2026-10.html"
    assert "<script src=" not in page.read_text() and "https://" not in page.read_text().split("<script>")[0]
    shown = open_page(browser, page, "--dump-dom")
    dom = shown.stdout
    errors = [line for line in shown.stderr.splitlines() if "CONSOLE" in line and ("rror" in line or "Uncaught" in line)]
    assert not errors, errors
    for chart in ("history", "deployments", "kinds", "unallocated"):  # each div holds a rendered SVG chart
        rendered = dom.split(f'id="{chart}"', 1)[1].split("</div>", 1)[0]
        assert rendered.count("<svg") >= 1 and "chart failed" not in rendered, chart
    with duckdb.connect(str(year.root / "exports" / "warehouse.duckdb"), read_only=True) as conn:
        pnl = conn.execute("SELECT revenue_usd_minor, cost_of_goods_usd_minor, gross_margin_usd_minor, "
                           "unallocated_cost_usd_minor FROM marts.monthly_pnl WHERE period_start = '2026-10-01'"
                           ).fetchone()
        infer = conn.execute("SELECT sum(revenue_usd_minor), sum(cost_usd_minor), sum(margin_usd_minor) FROM "
                             "marts.deployment_margin WHERE period_start = '2026-10-01' AND deployment_slug = "
                             "'luxor-infer'").fetchone()
    kpi = dom.split('id="kpi"', 1)[1].split("</table>", 1)[0]
    for figure in pnl:
        assert usd(figure) in kpi, (usd(figure), kpi[:500])
    bottom = dom.split("Bottom 5", 1)[1].split("</table>", 1)[0]
    assert "luxor-infer" in bottom and all(usd(v) in bottom for v in infer)  # $300.00, $2,570.16, -$2,270.16
    assert dom.count("<details") > 10 and "(tenant-level)" in dom  # the drill-down: tenant -> deployment -> kind
    index = open_page(browser, folder / "index.html", "--dump-dom").stdout
    assert all(f'href="dashboard_2026-{m:02d}.html"' in index for m in range(1, 11))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    open_page(browser, page, f"--screenshot={ARTIFACTS / 'dashboard_2026-10.png'}")
    assert (ARTIFACTS / "dashboard_2026-10.png").stat().st_size > 50_000


def test_the_deployment_chart_shows_the_best_and_worst_twenty_of_many():
    from billing_assets.reports.dashboard import MonthData, deployments_spec

    ranked = [(f"d{i:03d}", "t", True, 0, 0, 1000 - i) for i in range(50)]   # best first, as the SQL orders
    spec = deployments_spec(MonthData("2026-10", [], ranked, [], [], []))
    labels = [v["label"] for v in spec["data"]["values"]]
    assert labels == [f"d{i:03d}" for i in [*range(20), *range(30, 50)]]     # d020..d029 give way
    assert spec["title"] == "Margin by deployment, 2026-10: the 20 best and worst of 50 (USD)"
    forty = deployments_spec(MonthData("2026-10", [], ranked[:40], [], [], []))
    assert len(forty["data"]["values"]) == 40 and forty["title"] == "Margin by deployment, 2026-10 (USD)"
