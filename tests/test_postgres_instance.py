"""The month close run through a PostgreSQL-backed Dagster instance (dagster-postgres + pgserver),
configured by the shipped deploy/dagster.postgres.yaml as is; run, materializations and check
results read back from PostgreSQL."""

import shutil
from pathlib import Path

import dagster as dg
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_materialization_is_stored_in_postgres(env, pg_url, tmp_path, monkeypatch):
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", pg_url)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        result = env.month_close("2026-04-01", "2026-04-01", instance=instance)
        run = instance.get_run_by_id(result.run_id)
        assert run.is_success and run.job_name == "month_close"
        for asset in ("metered_usage", "tenant_invoices", "deployment_costs", "deployment_margin"):
            events = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=["2026-04-01"]), limit=5).records
            assert events and events[0].run_id == result.run_id, asset
        for asset, check in (("tenant_invoices", "total_equals_subtotal_plus_tax"),
                             ("deployment_costs", "totals_tie_out")):
            history = instance.event_log_storage.get_asset_check_execution_history(
                dg.AssetCheckKey(dg.AssetKey(asset), check), limit=1)
            assert history and history[0].run_id == result.run_id and history[0].status.value == "SUCCEEDED"
