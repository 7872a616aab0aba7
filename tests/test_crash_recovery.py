"""Crashes: a month close killed mid-step (its `duckdb` pool slot freed by run monitoring, the next
month close, a 24-month backfill through the daemon, completes), and kills between a commit and what follows it (export files, the record of a
Stripe push): the re-run converges and nothing is duplicated."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from itertools import pairwise

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml

from billing_assets.definitions import defs
from billing_assets.partitions import monthly_partitions
from billing_assets.sample_world import WorldParams
from tests.conftest import ROOT, STRIPE_KEY
from tests.test_operations import BIN

MONTH_CLOSE = [str(BIN / "dagster"), "job", "execute", "-m", "billing_assets.definitions", "-j", "month_close",
               "--tags", json.dumps({"dagster/partition": "2026-04-01"})]

# `dagster-daemon run` with one change: the backfill daemon ticks every 2 s instead of Dagster's fixed 30 s.
# A 24-month backfill of every asset is six runs in sequence (partitioned and unpartitioned levels
# alternate), each submitted on a tick: at 30 s the wait alone was ~3 minutes of the suite. Nothing
# else of the daemon is touched; the runs, the queue, run monitoring and the executor are the real ones.
FAST_DAEMON = ("import sys, dagster._daemon.controller as c; c.DEFAULT_DAEMON_INTERVAL_SECONDS = 2; "
               "from dagster._daemon.cli import main; sys.argv[0] = 'dagster-daemon'; sys.exit(main())")


def until(condition, timeout_s: float, what: str):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        if found := condition():
            return found
        time.sleep(0.5)
    raise AssertionError(f"waited {timeout_s:g} s for {what}")


def slot_holders(instance) -> set[str]:
    return {s.run_id for s in instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots}


def failures(instance, runs, daemon_log) -> str:
    """What an operator would read when the backfill fails: each failed run's errors (run, step and
    engine events that carry one) and the daemon's error lines."""
    found = []
    for run in runs:
        if run.status == dg.DagsterRunStatus.SUCCESS:
            continue
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            error = getattr(event.event_specific_data, "error", None) if event else None
            if event and (error or event.event_type_value in ("STEP_FAILURE", "RUN_FAILURE")):
                found.append(f"{run.run_id[:8]} {event.event_type_value} {entry.step_key or ''}: "
                             f"{entry.user_message}\n{error.to_string() if error else ''}")
    daemon = [line for line in re.sub(r"\x1b\[[0-9;]*m", "", daemon_log.read_text(errors="replace")).splitlines()
              if re.search(r"ERROR|Traceback|Exception|Error:", line)]
    return "\n".join([*found, "daemon's errors:", *daemon[-40:]])


@pytest.mark.slow
def test_a_month_close_killed_mid_step_then_a_24_month_backfill_through_the_daemon(operator_home, monkeypatch):
    """kill -9 a month close mid-step: its duckdb slot stays taken. Terminated as an operator would, run
    monitoring frees it, and the next month close (here the UI's 24-month backfill, through the daemon,
    the queued run coordinator, one run at a time, and the location's in-process executor) completes."""
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    home, dagster_home, env = operator_home
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())  # the shipped file, timings in seconds
    config["run_monitoring"].update(poll_interval_seconds=1, cancel_timeout_seconds=2,
                                    free_slots_after_run_end_seconds=1)
    config["run_coordinator"]["config"]["dequeue_interval_seconds"] = 1  # the queue's default is 5 s
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    with dg.DagsterInstance.get() as instance:
        first = subprocess.Popen(MONTH_CLOSE, cwd=ROOT, env=env, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        (dead_run,) = until(lambda: slot_holders(instance), 180, "a month close step to take the duckdb slot")
        os.killpg(first.pid, signal.SIGKILL)  # kill -9 the run and its step processes, mid-step
        first.wait()
        dead = instance.get_run_by_id(dead_run)
        assert dead.status == dg.DagsterRunStatus.STARTED and slot_holders(instance) == {dead_run}

        # The operator terminates the dead run in the UI: with its worker gone it can only reach CANCELING
        # (this call is what the UI's terminate records). The daemon's run monitoring does the rest.
        instance.report_run_canceling(dead)
        # The 24 months ending with the sample world's last (2026-10), not with the clock's last closed month:
        # past the world, margin_marts rightly refuses a month the shipped FX table has no JPY rate for.
        keys = monthly_partitions.get_partition_keys()
        partitions = keys[:keys.index(f"{WorldParams().periods[-1].start:%Y-%m-%d}") + 1][-24:]
        backfill = PartitionBackfill.from_asset_partitions(  # what the UI's "Materialize all -> backfill" submits
            backfill_id=make_new_backfill_id(), asset_graph=defs.resolve_asset_graph(), partition_names=partitions,
            asset_selection=list(defs.resolve_asset_graph().get_all_asset_keys()), backfill_timestamp=time.time(),
            tags={}, dynamic_partitions_store=instance, all_partitions=False, title="24 months", description=None,
            run_config=None)
        instance.add_backfill(backfill)
        daemon_log = dagster_home / "daemon.log"
        with daemon_log.open("w") as log:
            daemon = subprocess.Popen([sys.executable, "-c", FAST_DAEMON, "run", "-w", str(ROOT / "workspace.yaml")],
                                      cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            until(lambda: not slot_holders(instance) or slot_holders(instance) - {dead_run}, 120,
                  "run monitoring to free the dead run's slot")
            assert instance.get_run_by_id(dead_run).status == dg.DagsterRunStatus.CANCELED
            status = until(lambda: (s := instance.get_backfill(backfill.backfill_id).status)
                           != BulkActionStatus.REQUESTED and s, 540, "the backfill to finish")
        finally:
            daemon.terminate()
            daemon.wait(30)
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
        assert status == BulkActionStatus.COMPLETED_SUCCESS, failures(instance, runs, daemon_log)
        assert runs and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        # One run at a time from the queue: none waited for the pool (which spins a core) beside another.
        spans = sorted((r.start_time, r.end_time) for r in instance.get_run_records(
            filters=dg.RunsFilter(run_ids=[r.run_id for r in runs])))
        assert all(end <= next_start for (_, end), (next_start, _) in pairwise(spans)), spans
        messages = [e.user_message or "" for r in runs for e in instance.all_logs(r.run_id)]
    assert not [m for m in messages if "lock" in m.lower() and "could not set" in m.lower()]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as conn:
        months = conn.execute("SELECT count(*) FROM ingest.do_invoices").fetchone()[0]
        closed = conn.execute("SELECT count(*) FROM marts.monthly_pnl").fetchone()[0]
        april = conn.execute("SELECT count(*) FROM revenue.tenant_invoices WHERE period_start = '2026-04-01'"
                             ).fetchone()[0]
    assert months == 24 and closed >= 10 and april == 9


def crash(root, *args) -> None:
    died = subprocess.run([sys.executable, "-m", "tests.crash_driver", str(root), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert died.returncode == -signal.SIGKILL, died.stderr[-3000:]


@pytest.mark.slow
def test_a_kill_in_the_middle_of_the_exports_converges_on_rerun(april_closed):
    """Each file is renamed into place whole: a kill leaves some months' files old or absent, never
    half a file, and the next run writes them all from the analysts' copy."""
    env = april_closed
    exports = env.root / "exports" / "marts"
    for path in exports.glob("*_2026-04.*"):
        path.unlink()
    crash(env.root, "mid-export")
    assert [p.name for p in exports.glob("*_2026-04.*")] in (["monthly_pnl_2026-04.parquet", "monthly_pnl_2026-04.csv"],
                                                             ["monthly_pnl_2026-04.csv", "monthly_pnl_2026-04.parquet"])
    env.materialize(["analyst_exports"], partition_key="2026-04-01")
    with duckdb.connect(str(env.root / "exports" / "warehouse.duckdb"), read_only=True) as conn:
        for table in ("deployment_margin", "tenant_margin", "monthly_pnl", "tenant_invoices"):
            stored = conn.sql(f"SELECT * FROM marts.{table} WHERE period_start = '2026-04-01'").pl()
            exported = pl.read_parquet(exports / f"{table}_2026-04.parquet")
            assert exported.height == stored.height and exported.select(stored.columns).drop(
                [c for c in stored.columns if c.startswith("period_")]).equals(
                stored.drop([c for c in stored.columns if c.startswith("period_")])), table


@pytest.mark.slow
def test_a_kill_between_stripe_finalizing_and_the_warehouse_record_pushes_nothing_twice(
        issued, fake_stripe):
    crash(issued.root, "after-stripe-finalize", fake_stripe.base, STRIPE_KEY)
    with issued.connect() as conn:
        assert conn.execute("SELECT count(*) FROM revenue.stripe_documents").fetchone()[0] == 0  # never recorded
    assert len(fake_stripe.objects["invoice"]) == 1  # ... but Stripe finalized it
    issued.materialize(["stripe_invoices"])
    with issued.connect() as conn:
        recorded = conn.execute("SELECT stripe_object_id FROM revenue.stripe_documents").fetchall()
    assert len(recorded) == 9 and len(fake_stripe.objects["invoice"]) == 9  # the first one found, not re-created
    assert {r[0] for r in recorded} == set(fake_stripe.objects["invoice"])
    assert all(i["status"] == "open" for i in fake_stripe.objects["invoice"].values())
