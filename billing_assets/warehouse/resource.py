"""The warehouse as a Dagster resource, shared by every area (the one object each area binds)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import dagster as dg
import duckdb
from pydantic import Field

from billing_assets.settings import locations
from billing_assets.warehouse.connection import DEFAULT_MEMORY_LIMIT, open_warehouse


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Open it briefly, after any network call, inside pool `duckdb`."""

    path: str = Field(description="DuckDB file of the warehouse (BILLING_WAREHOUSE_PATH).")
    exports_dir: str = Field(description="Folder of the Parquet/CSV exports for analysts and FinOps tools.")
    lock_timeout_s: float = Field(default=10.0, description="How long to wait for a process holding the file "
                                  "before failing with one line that names it.")
    memory_limit: str = Field(default=DEFAULT_MEMORY_LIMIT, description="DuckDB's memory_limit for every "
                              "connection (e.g. '1GB'; BILLING_DUCKDB_MEMORY_LIMIT): larger sorts and joins spill "
                              "to disk beside the warehouse. The source snapshot is one transaction, so not much "
                              "lower; do_cost_lines keeps its own 128MB.")

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s,
                            memory_limit=self.memory_limit) as conn:
            yield conn

    @contextmanager
    def scratch(self) -> Iterator[Path]:
        """A scratch folder beside the warehouse, removed afterwards: on the warehouse's disk, because a
        system /tmp is often RAM-backed and a month's staged cost lines can be hundreds of MB."""
        parent = Path(self.path).parent
        parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=".scratch-", dir=parent) as folder:
            yield Path(folder)


def warehouse_from_environment() -> dg.ResourceDefinition:
    """The same object for every area while the environment names the same files: Definitions.merge
    accepts a key that several areas bind only when they bind the very same resource.

    Hard-coded, not configurable per run: where the warehouse lives is the deployment's choice
    (BILLING_HOME, BILLING_WAREHOUSE_PATH), and a configurable resource's bound values are defaults
    the Launchpad writes into every one-off job's config, above the fields the operator must fill."""
    where = locations()
    return _warehouse(str(where.warehouse_path), str(where.exports_dir), where.duckdb_memory_limit)


@cache
def _warehouse(path: str, exports_dir: str, memory_limit: str | None) -> dg.ResourceDefinition:
    resource = WarehouseResource(path=path, exports_dir=exports_dir,
                                 **({"memory_limit": memory_limit} if memory_limit else {}))
    return dg.ResourceDefinition.hardcoded_resource(
        resource, f"The DuckDB warehouse {path} (exports in {exports_dir}), from the environment.")
