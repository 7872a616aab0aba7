"""Synthetic usage events at benchmark scale (tens of millions), generated inside DuckDB.

Same seed, same rows: every value is a hash of (seed, row number). The deployments are the
sample world's, so the events meter and rate like the demo's.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from billing_assets.sample_world.world import World
from billing_assets.sql_files import read_sql


def write_usage_events_parquet(path: Path, world: World, n: int, month_start: str = "2026-04-01",
                               duplicate_rate: float = 0.01, seed: int = 20260401, month_index: int = 0) -> int:
    """Write `n` events of month number `month_index` counted from `month_start` to a Parquet file; returns
    the row count. Months written with the same seed form one history whose retries span months."""
    path.parent.mkdir(parents=True, exist_ok=True)
    deployments = sorted(d["deployment_id"] for d in world.tables["deployments"])
    conn = duckdb.connect()
    try:
        conn.execute("SET enable_progress_bar = false")
        query = read_sql("sample_world/synthetic_usage_events.sql")
        relation = conn.sql(query, params={"n": n, "first_month": month_start, "month_index": month_index,
                                           "duplicate_rate": duplicate_rate, "seed": seed,
                                           "deployments": deployments})
        relation.write_parquet(str(path), compression="zstd")
        return conn.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()[0]
    finally:
        conn.close()
