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
        assert spec.group_name in {"source", "ingest", "cogs", "revenue", "books", "margin", "reports"}, spec.key
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


ONE_OFF_JOBS = ("issue_invoices", "preview_invoice", "reverse_usage_event", "reverse_payment")


def launchpad_errors(job_name: str, op: str, config: dict) -> list[str]:
    """What the Launchpad says before launch: the webserver validates against the job's config schema
    snapshot (dagster_graphql's ensure_valid_config calls the same validate_config_from_snap)."""
    from dagster._config import validate_config_from_snap

    snapshot = defs.resolve_job_def(job_name).get_job_snapshot()
    result = validate_config_from_snap(snapshot.config_schema_snapshot, snapshot.mode_def_snaps[0].root_config_key,
                                       {"ops": {op: {"config": config}}})
    return [error.message for error in result.errors or []]


def test_the_launchpad_refuses_a_period_that_is_not_a_month_before_launch():
    assert launchpad_errors("issue_invoices", "issue_month_drafts", {"period": "2026-04"}) == []
    for bad in ("", "13/2026", "2026-13", "2026-4", "April"):
        (error,) = launchpad_errors("issue_invoices", "issue_month_drafts", {"period": bad})
        assert "not in enum type BillingMonth" in error, bad
    (error,) = launchpad_errors("preview_invoice", "preview_tenant_invoice", {"tenant": "acme", "period": "2026-4x"})
    assert "BillingMonth" in error
    (missing,) = launchpad_errors("reverse_payment", "record_payment_reversal", {"payment_id": "x", "tenant": "acme",
                                                                               "reason": "dup"})
    assert "initiated_by_email" in missing


def test_period_choices_run_from_the_first_month_through_december_of_next_year():
    from datetime import UTC, datetime

    from billing_assets.partitions import month_choices

    choices = month_choices("2026-01-01", datetime(2026, 11, 21, tzinfo=UTC))
    assert choices[0] == "2026-01" and choices[-1] == "2027-12" and len(choices) == 24
    # A code server started on 31 December still offers the month that closes a day later, and the one after.
    assert month_choices("2026-01-01", datetime(2026, 12, 31, 23, 59, tzinfo=UTC))[-1] == "2027-12"


def test_one_off_jobs_are_not_retried_when_a_step_fails():
    for name in ONE_OFF_JOBS:
        assert defs.resolve_job_def(name).tags["dagster/retry_on_asset_or_op_failure"] == "false", name
