"""A materialization stored in a PostgreSQL-backed Dagster instance (dagster-postgres + pgserver),
using the shipped deploy/dagster.postgres.yaml as is, and read back."""

import shutil
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parent.parent


def test_materialization_is_stored_in_postgres(env, pg_url, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = env.materialize(
            ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
             "source_cloud_resources", "source_usage_events", "metered_usage"],
            partition_key="2026-04-01", instance=instance)
        run = instance.get_run_by_id(result.run_id)
        assert run.is_success
        events = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("metered_usage"), asset_partitions=["2026-04-01"]),
            limit=5).records
        assert events and events[0].run_id == result.run_id
        history = instance.event_log_storage.get_asset_check_execution_history(
            dg.AssetCheckKey(dg.AssetKey("metered_usage"), "no_negative_quantities"), limit=1)
        assert history and history[0].run_id == result.run_id
