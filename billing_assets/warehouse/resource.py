"""The warehouse as a Dagster resource, shared by every area (the one object each area binds)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache

import dagster as dg
import duckdb
from pydantic import Field

from billing_assets.settings import locations
from billing_assets.warehouse.connection import open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Open it briefly, after any network call, inside pool `duckdb`."""

    path: str = Field(description="DuckDB file of the warehouse (BILLING_WAREHOUSE_PATH).")
    exports_dir: str = Field(description="Folder of the Parquet/CSV exports for analysts and FinOps tools.")
    lock_timeout_s: float = Field(default=10.0, description="How long to wait for a process holding the file "
                                  "before failing with one line that names it.")

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s) as conn:
            yield conn


def warehouse_from_environment() -> WarehouseResource:
    """The same object for every area while the environment names the same files: Definitions.merge
    accepts a key that several areas bind only when they bind the very same resource."""
    where = locations()
    return _warehouse(str(where.warehouse_path), str(where.exports_dir))


@cache
def _warehouse(path: str, exports_dir: str) -> WarehouseResource:
    return WarehouseResource(path=path, exports_dir=exports_dir)
