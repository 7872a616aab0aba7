import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from billing_assets.definitions import defs
from billing_assets.partitions import first_month, monthly_partitions

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


def test_the_first_month_is_configurable_and_defaults_to_the_sample_worlds_first():
    assert first_month(None) == first_month("  ") == "2026-01-01"  # the sample world starts in 2026-01
    assert first_month("2024-03") == first_month("2024-03-01") == "2024-03-01"
    with pytest.raises(ValueError, match=r"BILLING_FIRST_MONTH: not a month: '2024-3'"):
        first_month("2024-3")
    assert monthly_partitions.get_first_partition_key() == "2024-01-01"  # tests set BILLING_FIRST_MONTH=2024-01
