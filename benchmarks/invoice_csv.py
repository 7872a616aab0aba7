"""A large DigitalOcean invoice CSV through the real ingest steps, with their peak memory.

    .venv/bin/python benchmarks/invoice_csv.py [--mb 200] [--workdir DIR]

Writes an export folder whose April 2026 invoice has a CSV of about `--mb` MB (one droplet per line,
amounts that sum to the listed invoice amount), then materializes `do_invoices` and `do_cost_lines`
through Dagster's `materialize` in a fresh process and prints wall time, lines per second and that
process's peak RSS; a 1 MB CSV run first gives the fixed cost of the process (Dagster, DuckDB, imports).
Target (issue 15): a 200 MB CSV under 500 MB peak RSS (do_cost_lines works within its own DuckDB
memory_limit, COST_LINES_MEMORY_LIMIT). The export-folder source is measured; the API
source streams the body to a file the same way (tests/ingest/test_client.py), so it reads the same bytes.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import resource
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

INVOICE_UUID = "5a1e7c3b-0000-4000-8000-000000000200"
HEADER = "product,group_description,description,hours,start,end,USD,project_name,category\n"


def write_export(folder: Path, megabytes: float) -> tuple[int, int]:
    """The export folder; returns (lines, total cents)."""
    shutil.rmtree(folder, ignore_errors=True)
    invoice = folder / "invoices" / INVOICE_UUID
    invoice.mkdir(parents=True)
    target, lines, cents = int(megabytes * 1024 * 1024), 0, 0
    with (invoice / "invoice.csv").open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        written = len(HEADER)
        while written < target:
            batch = []
            for _ in range(10_000):
                amount = 600 + lines % 997
                batch.append(f"Droplets,tenant-{lines % 5000},droplet-{lines} (s-1vcpu-1gb),720,"
                             f"2026-04-01 00:00:00 +0000,2026-04-30 23:59:59 +0000,${amount // 100}.{amount % 100:02d},"
                             f"project-{lines % 300},iaas\n")
                lines, cents = lines + 1, cents + amount
            text = "".join(batch)
            out.write(text)
            written += len(text)
    amount = f"{cents // 100}.{cents % 100:02d}"
    (folder / "invoices.json").write_text(json.dumps({
        "invoices": [{"invoice_uuid": INVOICE_UUID, "invoice_id": "90000200", "amount": amount,
                      "invoice_period": "2026-04", "updated_at": "2026-05-01T00:00:00Z"}],
        "links": {}, "meta": {"total": 1}}))
    (invoice / "summary.json").write_text(json.dumps({"invoice_uuid": INVOICE_UUID, "amount": amount}))
    return lines, cents


def _materialize(workdir: str, queue) -> None:
    import dagster as dg

    from billing_assets.ingest.assets import do_cost_lines, do_invoices
    from billing_assets.ingest.resources import DigitalOceanResource
    from billing_assets.warehouse.resource import WarehouseResource

    root = Path(workdir)
    started = time.perf_counter()
    result = dg.materialize(
        [do_invoices, do_cost_lines], partition_key="2026-04-01",
        resources={"warehouse": WarehouseResource(path=str(root / "warehouse.duckdb"), exports_dir=str(root / "x")),
                   "digitalocean": DigitalOceanResource(export_dir=str(root / "digitalocean"))})
    elapsed = time.perf_counter() - started
    checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    rows = next(m for m in result.asset_materializations_for_node("do_cost_lines")).metadata["dagster/row_count"].value
    queue.put((elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, rows, checks))


def run(workdir: Path, megabytes: float) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "warehouse.duckdb").unlink(missing_ok=True)
    started = time.perf_counter()
    lines, cents = write_export(workdir / "digitalocean", megabytes)
    size = (workdir / "digitalocean" / "invoices" / INVOICE_UUID / "invoice.csv").stat().st_size
    print(f"CSV {size / 1e6:,.0f} MB, {lines:,} lines, ${cents / 100:,.2f} (written in "
          f"{time.perf_counter() - started:.1f} s)")
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_materialize, args=(str(workdir), queue))
    process.start()
    elapsed, peak, rows, checks = queue.get()
    process.join()
    assert rows == lines and all(checks.values()), (rows, checks)
    outcome = ", ".join(f"{name} {'passed' if passed else 'FAILED'}" for name, passed in checks.items())
    from billing_assets.ingest.cost_lines import COST_LINES_MEMORY_LIMIT

    print(f"  do_invoices + do_cost_lines (cost lines in DuckDB memory_limit {COST_LINES_MEMORY_LIMIT}): {elapsed:.1f} s, {lines / elapsed:,.0f} lines/s, peak RSS {peak:,.0f} MiB; "
          f"checks {outcome}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=200)
    parser.add_argument("--workdir", type=Path, default=ROOT / ".billing" / "bench-invoice-csv")
    args = parser.parse_args()
    print("baseline (the process with a 1 MB CSV):")
    run(args.workdir, 1)
    print(f"target ({args.mb:g} MB):")
    run(args.workdir, args.mb)
    shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
