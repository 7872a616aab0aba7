"""The DuckDB warehouse: one file, one writer, short connections, window-replacing writes.

DuckDB lets one process hold a file read-write. Every asset that opens it is in the Dagster
pool `duckdb` (limit 1); on top of that, opening retries briefly on a lock so a notebook that
holds the file for a moment does not fail a month close.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from billing_assets.periods import naive
from billing_assets.sql_files import SQL_ROOT, read_sql, statements

SCHEMA_FILES = sorted(p.relative_to(SQL_ROOT).as_posix() for p in (SQL_ROOT / "warehouse").glob("*.sql"))


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file."""



@contextmanager
def open_warehouse(path: str | Path, *, read_only: bool = False, lock_timeout_s: float = 60.0
                   ) -> Iterator[duckdb.DuckDBPyConnection]:
    path = Path(path)
    if read_only and not path.exists():
        raise FileNotFoundError(f"warehouse {path} does not exist yet: materialize the pipeline first")
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline, delay = time.monotonic() + lock_timeout_s, 0.2
    while True:
        try:
            conn = duckdb.connect(str(path), read_only=read_only)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                raise WarehouseLockedError(f"cannot open warehouse {path}: {exc}") from exc
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        if not read_only:
            ensure_schema(conn)
        yield conn
    finally:
        conn.close()


def ensure_schema(conn: duckdb.DuckDBPyConnection) -> None:
    """Create every warehouse table that is missing (DDL in sql/warehouse, all idempotent)."""
    for name in SCHEMA_FILES:
        conn.execute(read_sql(name))


@contextmanager
def transaction(conn: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """All or nothing: a failed write leaves the warehouse as it was."""
    conn.execute("BEGIN TRANSACTION")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def window_params(start: datetime, end: datetime) -> dict[str, datetime]:
    return {"window_start": naive(start), "window_end": naive(end)}


def run_sql(conn: duckdb.DuckDBPyConnection, relative: str, params: dict | None = None) -> None:
    """Run every statement of a file in sql/ with named parameters (`$window_start`, ...)."""
    for statement in statements(read_sql(relative)):
        used = {k: v for k, v in (params or {}).items() if f"${k}" in statement}
        conn.execute(statement, used)


def insert_rows(conn: duckdb.DuckDBPyConnection, statement: str, rows: list) -> int:
    """executemany that accepts an empty batch (DuckDB refuses one)."""
    if rows:
        conn.executemany(statement, rows)
    return len(rows)


def markdown_preview(conn: duckdb.DuckDBPyConnection, query: str, params: dict | None = None,
                     limit: int = 10) -> str:
    frame = conn.execute(f"SELECT * FROM ({query}) LIMIT {int(limit)}", params or {}).df()  # noqa: S608
    return frame.to_markdown(index=False) if len(frame) else "_no rows_"
