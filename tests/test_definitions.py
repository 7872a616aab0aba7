import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from billing_assets.definitions import defs
from billing_assets.partitions import monthly_partitions

ROOT = Path(__file__).resolve().parent.parent


def test_definitions_load_and_validate():
    dg.Definitions.validate_loadable(defs)
    assert defs.resolve_job_def("month_close")
    assert defs.resolve_job_def("issue_invoices")
    assert defs.resolve_job_def("preview_invoice")


@pytest.mark.slow
def test_dagster_cli_validates_the_workspace():
    dagster = Path(sys.executable).parent / "dagster"
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_asset_is_grouped_described_and_kinded():
    for spec in defs.resolve_all_asset_specs():
        assert spec.group_name in {"source", "ingest", "cogs", "revenue", "margin"}, spec.key
        assert spec.description, f"{spec.key} has no description"
        assert spec.kinds, f"{spec.key} has no kinds"


def test_one_monthly_partitions_definition():
    partitioned = [s for s in defs.resolve_all_asset_specs() if s.partitions_def is not None]
    assert partitioned
    assert all(s.partitions_def == monthly_partitions for s in partitioned)
    assert monthly_partitions.timezone == "UTC"
    assert monthly_partitions.start.day == 1
