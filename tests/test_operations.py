"""Operating it: schedules and sensors as declared, and the shipped dagster.yaml (the 24-month
backfill through the daemon is in tests/test_crash_recovery.py, after a killed month close)."""

import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import yaml

from billing_assets.definitions import defs

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_schedules_crons_and_timezones():
    expected = {"month_close_schedule": ("0 3 1 * *", "month_close"),
                "do_balance_hourly_schedule": ("7 * * * *", "do_balance_hourly"),
                "do_ingest_daily_schedule": ("23 2 * * *", "do_ingest_daily"),
                "collections_daily_schedule": ("17 4 * * *", "collections_daily"),
                "stripe_weekly_reconcile_schedule": ("47 4 * * 1", "stripe_weekly_reconcile"),
                "month_to_date_hourly_schedule": ("37 * * * *", "month_to_date_hourly"),
                "usage_full_refresh_weekly_schedule": ("53 1 * * 0", "usage_full_refresh_weekly")}
    assert {s.name for s in defs.schedules} == set(expected)
    for name, (cron, job) in expected.items():
        schedule = defs.resolve_schedule_def(name)
        assert (schedule.cron_schedule, schedule.execution_timezone, schedule.job_name) == (cron, "UTC", job)
    assert {s.name for s in defs.sensors} == {"do_invoice_sensor", "month_close_freshness_sensor"}


def test_month_close_on_the_first_targets_the_month_just_ended():
    schedule = defs.resolve_schedule_def("month_close_schedule")
    with dg.build_schedule_context(scheduled_execution_time=datetime(2026, 11, 1, 3, tzinfo=UTC)) as ctx:
        requests = schedule.evaluate_tick(ctx).run_requests
    assert [r.partition_key for r in requests] == ["2026-10-01"]


def test_network_assets_retry_and_nothing_else_does():
    network = {"do_balance_snapshots", "do_billing_history", "do_resources", "do_invoices", "stripe_invoices",
               "stripe_payments", "stripe_full_reconcile", "books_payables", "books_receivables"}
    for assets_def in defs.assets:
        for key in assets_def.keys:
            policy = assets_def.op.retry_policy
            assert (policy is not None) == (key.path[0] in network), key
            if policy:
                assert policy.backoff == dg.Backoff.EXPONENTIAL and policy.jitter is not None


def test_every_warehouse_step_is_in_the_duckdb_pool_and_monthly_assets_run_as_one():
    for assets_def in defs.assets:
        # Reports read the analysts' copy, never the warehouse file: outside the pool, by design.
        reports = {spec.group_name for spec in assets_def.specs} == {"reports"}
        assert assets_def.op.pool == (None if reports else "duckdb"), assets_def.keys
        if assets_def.partitions_def is not None:
            assert assets_def.backfill_policy == dg.BackfillPolicy.single_run()


def test_shipped_instance_configs_set_the_pool_run_retries_and_run_monitoring():
    for name in ("dagster.yaml", "dagster.postgres.yaml"):
        config = yaml.safe_load((ROOT / "deploy" / name).read_text())
        assert config["concurrency"]["pools"]["default_limit"] == 1
        # queued runs one at a time: a second run would only spin waiting for the pool (deploy/dagster.yaml)
        assert config["concurrency"]["runs"]["max_concurrent_runs"] == 1
        # a run dequeued while the code server restarts is queued again, not failed
        assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
        assert config["run_coordinator"]["config"]["max_user_code_failure_retries"] >= 1
        # a run is re-launched only when its worker died, never because a step refused its input
        assert config["run_retries"] == {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": False}
        # a killed run's pool slot is freed (else the next month close waits forever)
        assert config["run_monitoring"]["enabled"] is True
        assert 0 < config["run_monitoring"]["free_slots_after_run_end_seconds"] <= 300
        assert config["run_monitoring"]["cancel_timeout_seconds"] <= 600  # a terminated dead run ends soon
        assert config["run_monitoring"]["max_runtime_seconds"] > 0  # and one nobody terminates, eventually
    assert yaml.safe_load((ROOT / "deploy" / "dagster.postgres.yaml").read_text())["storage"]["postgres"][
        "postgres_url"] == {"env": "DAGSTER_POSTGRES_URL"}


def test_every_table_asset_reports_rows_and_explains_itself():
    for spec in defs.resolve_all_asset_specs():
        assert spec.owners and spec.description and spec.kinds, spec.key
        assert "dagster/code_references" in spec.metadata, spec.key


DOCUMENTS = {"finance_dashboard", "close_pack"}  # files for people, not tables: no column schema


def test_every_materialization_reports_row_count_and_column_schema(env):
    result = env.month_close("2026-04-01", "2026-04-01")
    missing = []
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        for key in ("dagster/row_count", "dagster/column_schema"):
            if key not in meta and not (key == "dagster/column_schema" and event.asset_key.path[0] in DOCUMENTS):
                missing.append(f"{event.asset_key.to_user_string()} lacks {key}")
    assert not missing, missing


def test_every_setting_the_code_reads_is_in_the_readme_configuration_table():
    """What an operator can set is what the README's Configuration table lists: each environment variable
    that the code (os.environ, dg.EnvVar, secret_env, the books' env lookups) or the shipped instance
    configs read has a row there, so a new setting cannot ship undocumented."""
    read = set()
    for source in (ROOT / "billing_assets").rglob("*.py"):
        read |= set(re.findall(r"""(?:environ\.get\(|environ\[|EnvVar\(|secret_env\(|getenv\(|\benv\()"([A-Z][A-Z0-9_]+)\"""",
                               source.read_text()))
    for config in (ROOT / "deploy").glob("*.yaml"):
        read |= set(re.findall(r"env: ([A-Z][A-Z0-9_]+)", config.read_text()))
    section = (ROOT / "README.md").read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    listed = {name for row in re.findall(r"^\| ([^|]+) \|", section, re.MULTILINE)
              for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", row)}
    assert {"BILLING_FX_RATES_CSV", "STRIPE_API_KEY", "DAGSTER_POSTGRES_URL", "XERO_CLIENT_SECRET"} <= read
    assert read - listed == set()
