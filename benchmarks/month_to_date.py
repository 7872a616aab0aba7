"""The hourly running-month estimate at scale, through `dagster job execute` as the schedule runs it.

    .venv/bin/python benchmarks/month_to_date.py [--tenants 10000] [--events 12]

Generates (or reuses, in --workdir) a two-month sample world of that many tenants, closes its first month
(so every tenant has last month's total to be measured against), then runs `month_to_date_hourly` twice
for the second month as of its 15th at 12:00 UTC: the source snapshot, then `month_to_date_estimate`.
Prints the job's wall time, the estimate step's own time, tenants estimated and alerts raised (the second
run raises none: each crossing is reported once per month). Target (issue 20): the estimate for 10,000
tenants under 30 s on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from month_close import BIN, close, environment, step_times, world


def hourly(home: Path, month: str, as_of: str) -> dict:
    config = {"ops": {"month_to_date_estimate": {"config": {"month": month, "as_of": as_of}}}}
    path = home / "month_to_date.json"
    path.write_text(json.dumps(config))
    started = time.perf_counter()
    done = subprocess.run([str(BIN / "dagster"), "job", "execute", "-m", "billing_assets.definitions", "-j",
                           "month_to_date_hourly", "-c", str(path)], env=environment(home), capture_output=True,
                          text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"month_to_date_hourly failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return {"wall": wall, "steps": step_times(home)}


def figures(home: Path, month: str) -> tuple[int, int, int]:
    code = ("import duckdb, sys\n"
            f"c = duckdb.connect(r'{home / 'warehouse.duckdb'}', read_only=True)\n"
            "print(*c.execute(\"SELECT (SELECT count(*) FROM revenue.tenant_estimates WHERE period_start = $m), "
            "(SELECT count(*) FROM revenue.estimate_usage WHERE period_start = $m), "
            "(SELECT count(*) FROM revenue.budget_alerts WHERE period_start = $m)\", "
            f"{{'m': '{month}-01'}}).fetchone())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    return int(out[0]), int(out[1]), int(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10000)
    parser.add_argument("--events", type=int, default=12, help="usage events per deployment and month")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "billing-bench")
    args = parser.parse_args()
    home = args.workdir / f"mtd-{args.tenants}-{args.events}"
    home.mkdir(parents=True, exist_ok=True)
    generated = world(home, args.tenants, 2, args.events)
    print(f"{args.tenants:,} tenants, 2 months, {args.events} events per deployment-month "
          f"(world ready in {generated:.1f} s)")
    closed = close(home, "2026-01-01")
    print(f"month_close 2026-01 (last month's totals): {closed['wall']:.1f} s")
    for attempt in (1, 2):
        run = hourly(home, "2026-02", "2026-02-15T12:00:00Z")
        tenants, usage_rows, alerts = figures(home, "2026-02")
        steps = run["steps"]
        snapshot = sum(v for k, v in steps.items() if k.startswith("source_"))
        print(f"month_to_date_hourly run {attempt}: job {run['wall']:.1f} s wall; month_to_date_estimate step "
              f"{steps['month_to_date_estimate']:.1f} s; source snapshot steps {snapshot:.1f} s; "
              f"{tenants:,} tenants estimated, {usage_rows:,} usage rows, {alerts:,} alerts so far this month")


if __name__ == "__main__":
    main()
