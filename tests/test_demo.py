
"""The README's first command, end to end: the demo CLI in an empty data directory."""

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_demo_runs_the_whole_pipeline_and_prints_the_pilot_invoice(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_HOME", "STRIPE_API_KEY", "DIGITALOCEAN_TOKEN")}
    env.update(BILLING_HOME=str(tmp_path / "home"), BILLING_AUTOMATION_DEFAULT="stopped")
    result = subprocess.run([str(Path(sys.executable).parent / "billing-assets"), "demo"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout
    assert "Total" in out and "USD 70.64" in out and "USD 64.22" in out
    assert "Bottom deployments by margin" in out and "luxor-infer" in out
    assert "Stripe: not configured" in out
    with duckdb.connect(str(tmp_path / "home" / "warehouse.duckdb"), read_only=True) as conn:
        issued = conn.execute("SELECT count(*) FROM revenue.tenant_invoices WHERE status = 'issued'").fetchone()[0]
        months = conn.execute("SELECT count(*) FROM marts.monthly_pnl").fetchone()[0]
    assert issued == 90 and months == 10
    assert (tmp_path / "home" / "dagster_home" / "dagster.yaml").exists()
