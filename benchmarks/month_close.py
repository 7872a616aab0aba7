"""One month close through `dagster job execute`, at several world sizes, with time per step.

    .venv/bin/python benchmarks/month_close.py [--tenants 1000 10000 100000] [--months 2] [--events 12]

For each size: generates a sample world of that many tenants (`billing-assets sample-world`: copies of
the demo's ten, every scenario included; cached between runs in --workdir), then runs `month_close`
for the world's last month exactly as the schedule does (a fresh warehouse, a file-backed Dagster
instance, Stripe off; vl-convert's Vega bundle is kept from an earlier close, as in production), and
prints wall time, CPU time and peak RSS of the close's own process, the time of each step from the
run's own event log, the machine's speed during the close (a probe beside it times a fixed loop), and
the growth exponent between consecutive sizes (log(time ratio) / log(size ratio): 1.0 is linear).
Targets (issue 16): 10,000 tenants under 20 s, 100,000 under 3 minutes, exponent at most 1.05, peak
RSS under 2 GiB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def world(home: Path, tenants: int, months: int, events: int) -> float:
    """Generate (or keep) the world; returns seconds spent."""
    started = time.perf_counter()
    subprocess.run([str(BIN / "billing-assets"), "sample-world", "--tenants", str(tenants), "--months", str(months),
                    "--events-per-deployment-month", str(events)], env=environment(home), check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def environment(home: Path) -> dict[str, str]:
    return {**os.environ, "BILLING_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home"),
            "BILLING_AUTOMATION_DEFAULT": "stopped", "STRIPE_API_KEY": "", "DIGITALOCEAN_TOKEN": ""}


def close(home: Path, partition: str) -> dict:
    """Run the month close in a fresh warehouse and a new, empty instance; returns the figures."""
    shutil.rmtree(home / "dagster_home", ignore_errors=True)
    # vl-convert's Vega bundle is kept across closes in production (built once per vl-convert version,
    # 2-3 s); keep it here too, so every close but the world's first measures what a month close does.
    bundles = {p.name: p.read_bytes() for p in (home / "exports" / "dashboard").glob(".vega-bundle-*.js")}
    shutil.rmtree(home / "exports", ignore_errors=True)
    (home / "exports" / "dashboard").mkdir(parents=True)
    for name, content in bundles.items():
        (home / "exports" / "dashboard" / name).write_bytes(content)
    for stale in ("warehouse.duckdb", "warehouse.duckdb.wal"):
        (home / stale).unlink(missing_ok=True)
    (home / "dagster_home").mkdir(parents=True)
    (home / "dagster_home" / "dagster.yaml").write_text((ROOT / "deploy" / "dagster.yaml").read_text())
    # The instance's storage is created before the clock starts: a production month close runs against a
    # DAGSTER_HOME that has existed since installation, and creating its SQLite schemas costs ~0.6 s once.
    subprocess.run([sys.executable, "-c", "import dagster as dg; dg.DagsterInstance.get().get_runs(limit=1)"],
                   env=environment(home), check=True, capture_output=True)
    log = home / "month_close.log"
    started = time.perf_counter()
    with log.open("w") as out:
        process = subprocess.Popen([str(BIN / "dagster"), "job", "execute", "-m", "billing_assets.definitions", "-j",
                                    "month_close", "--tags", json.dumps({"dagster/partition": partition})],
                                   env=environment(home), stdout=out, stderr=subprocess.STDOUT)
        # wait4 gives this process's own usage (and its children's), not the world generator's: getrusage
        # of all children would report the generator's peak when the world was made in the same run.
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        sys.exit(f"month close failed (rc {process.returncode}):\n{log.read_text()[-6000:]}")
    return {"wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
            "steps": step_times(home), "bundle_built": not bundles}


# Runs beside the close: every 2 s, the CPU time of 1M additions (10M-addition equivalent), one line each.
PROBE = """
import time
while True:
    started, total = time.process_time(), 0
    for i in range(1_000_000):
        total += i
    print(10 * (time.process_time() - started), flush=True)
    time.sleep(2)
"""


@contextmanager
def machine_speed() -> Iterator[list[float]]:
    """This machine's speed while the close runs: a probe on the second core (the close keeps about one
    busy) times a fixed pure-Python loop every 2 s; the list fills with the probes' figures. The host's
    speed swings by up to 3x within minutes (2026-12-07: the same loop took 0.51-1.96 s for 10M
    additions), so a close's figure means little without the speed it ran at."""
    probes: list[float] = []
    with tempfile.TemporaryFile("w+") as out:
        probe = subprocess.Popen([sys.executable, "-c", PROBE], stdout=out)
        try:
            yield probes
        finally:
            probe.kill()
            probe.wait()
            out.seek(0)
            probes.extend(float(line) for line in out.read().split())


def step_times(home: Path) -> dict[str, float]:
    code = ("import json, dagster as dg\n"
            "i = dg.DagsterInstance.get()\n"
            "run = i.get_runs(limit=1)[0]\n"
            "print(json.dumps({s.step_key: s.end_time - s.start_time for s in i.get_run_step_stats(run.run_id) "
            "if s.end_time and s.start_time}))")
    out = subprocess.run([sys.executable, "-c", code], env=environment(home), capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--months", type=int, default=2, help="months of history; the last one is closed")
    parser.add_argument("--events", type=int, default=12, help="API-request events per deployment and month")
    parser.add_argument("--workdir", type=Path, default=ROOT / ".billing" / "bench-month-close")
    args = parser.parse_args()
    year, month = 2026, args.months  # worlds start in 2026-01
    partition = f"{year + (month - 1) // 12}-{(month - 1) % 12 + 1:02d}-01"
    previous = None
    for tenants in args.tenants:
        home = args.workdir / f"t{tenants}"
        generated = world(home, tenants, args.months, args.events)
        with machine_speed() as probes:
            figures = close(home, partition)
        speed = (f"machine speed during the close: 10M additions in {statistics.median(probes):.2f} s CPU "
                 f"(median of {len(probes)} probes, {min(probes):.2f}-{max(probes):.2f})") if probes else "no probe"
        print(f"{tenants:>7,} tenants ({partition[:7]}): month close {figures['wall']:.1f} s wall, "
              f"{figures['cpu']:.1f} s CPU, peak RSS {figures['peak_mib']:,.0f} MiB (world ready in {generated:.0f} s; "
              f"{speed}"
              f"{'; the Vega bundle was built in this close: run again for a later month' if figures['bundle_built'] else ''})")
        for step, seconds in sorted(figures["steps"].items(), key=lambda kv: -kv[1])[:8]:
            print(f"    {step:<32} {seconds:6.1f} s")
        if previous:
            exponent = math.log(figures["wall"] / previous[1]) / math.log(tenants / previous[0])
            print(f"    growth exponent from {previous[0]:,}: {exponent:.2f}")
        previous = (tenants, figures["wall"])


if __name__ == "__main__":
    main()
