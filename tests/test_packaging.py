"""A wheel built from the checkout, installed into a new virtual environment outside it, runs the demo
(the README's first command, end to end, in an empty data directory): the SQL, the instance config
and the FX table travel inside the package and are read with importlib.resources, not from the
checkout. The checkout's own `billing-assets demo` is the same code; it is not run a second time.

The new environment gets billing_assets from the wheel alone (pip --no-deps --no-index); its
third-party dependencies are borrowed from the project's .venv through a path entry, so the test
does not download the Dagster stack again on every run. That borrowing is the only shortcut: no
file of the checkout is reachable from the new environment (asserted below)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import duckdb
import pytest

ROOT = Path(__file__).resolve().parent.parent


# What a build must not see: setuptools reuses an existing build/ folder, so a file deleted or renamed
# since the last local build (a migration, say) would travel in the wheel; the checkout is copied
# without it, and without environments and data, before building.
NOT_SOURCE = shutil.ignore_patterns(".git", ".venv", ".billing", "build", "dist", "*.egg-info", "__pycache__",
                                    ".*_cache", ".hypothesis", ".test-artifacts")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out, source = tmp_path_factory.mktemp("dist"), tmp_path_factory.mktemp("source") / "billing_assets"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "--disable-pip-version-check", "-w", str(out), str(source)], check=True, cwd=out, timeout=300)
    (built,) = out.glob("billing_assets-*.whl")
    return built


def test_the_wheel_carries_sql_instance_config_and_reference_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    sql_in_checkout = {f"billing_assets/sql/{p.relative_to(ROOT / 'sql').as_posix()}"
                       for p in (ROOT / "sql").rglob("*.sql")}
    assert {n for n in names if n.startswith("billing_assets/sql/") and n.endswith(".sql")} == sql_in_checkout
    assert {"billing_assets/deploy/dagster.yaml", "billing_assets/deploy/dagster.postgres.yaml",
            "billing_assets/margin/fx_rates.csv", "billing_assets/sql/migrations/0001_source_staging.sql",
            "billing_assets/docs/data-dictionary.md"} <= names


@pytest.mark.slow
def test_the_installed_wheel_runs_the_demo_outside_the_checkout(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bin_dir = venv / ("Scripts" if os.name == "nt" else "bin")
    python = bin_dir / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "borrowed_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
                    "--quiet", "--disable-pip-version-check", str(wheel)], check=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("BILLING_", "DAGSTER_", "PYTHON")) and k not in ("STRIPE_API_KEY", "DIGITALOCEAN_TOKEN")}
    env["BILLING_HOME"] = str(work / "home")
    where = subprocess.run([str(python), "-c", "import billing_assets, billing_assets.sql as s; "
                                               "print(billing_assets.__file__); print(list(s.__path__)[0])"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert all(Path(p).is_relative_to(venv) for p in where), where
    result = subprocess.run([str(bin_dir / "billing-assets"), "demo"], cwd=work, env=env, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    out = result.stdout  # what the README's demo prints, here computed by the wheel's own SQL
    assert "Total" in out and "USD 70.64" in out and "USD 64.22" in out  # the pilot invoice: total, subtotal
    assert "Bottom deployments by margin" in out and "luxor-infer" in out
    assert "Stripe: not configured" in out
    with duckdb.connect(str(work / "home" / "warehouse.duckdb"), read_only=True) as conn:
        issued = conn.execute("SELECT count(*) FROM revenue.tenant_invoices WHERE status = 'issued'").fetchone()[0]
        months = conn.execute("SELECT count(*) FROM marts.monthly_pnl").fetchone()[0]
    assert issued == 90 and months == 10
    assert (work / "home" / "dagster_home" / "dagster.yaml").read_text().startswith(
        (ROOT / "deploy" / "dagster.yaml").read_text()[:40])
