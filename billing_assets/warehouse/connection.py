"""The DuckDB warehouse: one file, one writer, short connections, window-replacing writes.

DuckDB lets one process hold a file read-write. Every asset that opens it is in the Dagster
pool `duckdb` (limit 1); on top of that, opening retries briefly on a lock so a notebook that
holds the file for a moment does not fail a month close. A read-write open brings the schema up
to this release first (billing_assets.warehouse.migrations), so the pool's one writer is also the
only one that ever migrates.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from billing_assets.periods import naive
from billing_assets.sql_files import read_sql, statements
from billing_assets.warehouse.migrations import apply_migrations, pending_migrations


class WarehouseLockedError(RuntimeError):
    """Another process holds the DuckDB file; the message names it in one line."""


_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)(?: by user (?P<user>[^.\s]+))?")


def lock_holder(message: str) -> str:
    """Who holds the file, from DuckDB's lock error: `PID 123 (/usr/bin/python, user ana)`."""
    found = _HOLDER.search(message)
    if not found:
        return "another process"
    user = f", user {found['user']}" if found["user"] else ""
    return f"PID {found['pid']} ({found['program']}{user})"


class WarehouseOutdatedError(RuntimeError):
    """A read-only reader met a warehouse that still has migrations to apply."""


# DuckDB's own default is 80% of RAM. 1GB keeps a 100,000-tenant month close under 2 GiB of RSS (DuckDB's
# buffers plus the Python objects of rating); at 2GB it peaked at 2.3 GiB, no faster. Not much lower: the
# source snapshot is one transaction, and at 128MB the 100,000-tenant one ran out (README "Performance").
DEFAULT_MEMORY_LIMIT = "1GB"


@contextmanager
def open_warehouse(path: str | Path, *, read_only: bool = False, lock_timeout_s: float = 10.0,
                   memory_limit: str = DEFAULT_MEMORY_LIMIT) -> Iterator[duckdb.DuckDBPyConnection]:
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
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() > deadline:
                raise WarehouseLockedError(
                    f"warehouse {path} is held by {lock_holder(str(exc))} (waited {lock_timeout_s:g} s): any "
                    f"connection to the file, read-only ones included, blocks the pipeline's writer; close it, "
                    f"and read the analysts' copy (exports/warehouse.duckdb) instead") from None
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
    try:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute("SET memory_limit = $limit", {"limit": memory_limit})
        if not read_only:
            apply_migrations(conn)
        elif pending := pending_migrations(conn):
            raise WarehouseOutdatedError(
                f"warehouse {path} lacks {len(pending)} migration(s) of this release ({pending[0].label} …): "
                "run `billing-assets migrate` (or any warehouse job) once, then read it")
        yield conn
    finally:
        conn.close()


@contextmanager
def memory_limit(conn: duckdb.DuckDBPyConnection, limit: str) -> Iterator[None]:
    """DuckDB's memory_limit lowered (or raised) for a block, then put back."""
    before = conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    conn.execute("SET memory_limit = $limit", {"limit": limit})
    try:
        yield
    finally:
        conn.execute("SET memory_limit = $limit", {"limit": before})


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
        conn.execute(statement, used_params(statement, params))


def used_params(statement: str, params: dict | None) -> dict:
    """The named parameters a statement names: DuckDB refuses any it does not use."""
    return {k: v for k, v in (params or {}).items() if re.search(rf"\${k}\b", statement)}


def table_columns(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ? "
        "ORDER BY ordinal_position", [schema, name]).fetchall()]


def insert_rows(conn: duckdb.DuckDBPyConnection, table: str, rows: Sequence[Sequence],
                columns: Sequence[str] | None = None) -> int:
    """Append rows to one of our tables in a single statement: the rows become one polars frame that
    DuckDB reads through Arrow (exact Decimals, no per-row round trip). `table` is one of our own
    constant names; `columns` defaults to the table's columns in order."""
    if not rows:
        return 0
    columns = list(columns or table_columns(conn, table))
    return insert_frame(conn, table, pl.DataFrame([list(r) for r in rows], schema=columns, orient="row",
                                                  infer_schema_length=None))


@contextmanager
def registered(conn: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> Iterator[None]:
    """A polars frame visible to SQL as `name` for the duration (through Arrow, no copy row by row):
    how set-based writes hand Python's results to one statement in sql/."""
    conn.register(name, frame)
    try:
        yield
    except BaseException:
        with suppress(duckdb.Error):  # in an aborted transaction this fails too: keep the error that did it
            conn.unregister(name)
        raise
    conn.unregister(name)


def insert_frame(conn: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> int:
    """Append a polars frame to one of our tables (its columns by name) in one statement, through Arrow."""
    name = f"_insert_{table.replace('.', '_')}"
    with registered(conn, name, frame):
        listed = ", ".join(f'"{c}"' for c in frame.columns)
        conn.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {name}")  # noqa: S608 - our own names
    return frame.height


def markdown_preview(conn: duckdb.DuckDBPyConnection, query: str, params: dict | None = None,
                     limit: int = 10) -> str:
    frame = conn.execute(f"SELECT * FROM ({query}) LIMIT {int(limit)}", params or {}).df()  # noqa: S608
    return frame.to_markdown(index=False) if len(frame) else "_no rows_"
