"""Analysts never block the pipeline: they read a copy refreshed after each run, and a process that
holds the pipeline's file makes the writer fail fast with one line naming it."""

import subprocess
import sys
import time

import duckdb
import pytest

from billing_assets.warehouse import WarehouseLockedError, open_warehouse


def test_the_copy_is_readable_while_the_pipeline_writes(april_closed):
    env = april_closed  # April's close wrote the analysts' copy
    copy = env.root / "exports" / "warehouse.duckdb"
    with duckdb.connect(str(copy), read_only=True) as analyst:  # an open notebook on the copy...
        pnl = analyst.execute("SELECT revenue_usd_minor FROM marts.monthly_pnl").fetchall()
        assert env.month_close("2026-04-01", "2026-04-01").success  # ...does not stop the next close
    assert pnl and pnl == duckdb.connect(str(copy), read_only=True).execute(
        "SELECT revenue_usd_minor FROM marts.monthly_pnl").fetchall()


def test_a_reader_of_the_live_file_fails_the_writer_fast_and_is_named(tmp_path):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path):
        pass
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(path)!r}, "
                               "read_only=True); print('open', flush=True); time.sleep(30)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        started = time.monotonic()
        with pytest.raises(WarehouseLockedError) as err, open_warehouse(path, lock_timeout_s=1):
            pass
        assert time.monotonic() - started < 10
        message = str(err.value)
        assert f"PID {holder.pid}" in message and "\n" not in message
        assert "exports/warehouse.duckdb" in message
    finally:
        holder.kill()
        holder.wait()
