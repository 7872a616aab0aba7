"""The DuckDB warehouse: connections and transactions, versioned migrations, and the resource."""

from billing_assets.warehouse.connection import (
    WarehouseLockedError,
    WarehouseOutdatedError,
    insert_rows,
    markdown_preview,
    memory_limit,
    open_warehouse,
    registered,
    run_sql,
    table_columns,
    transaction,
    window_params,
)
from billing_assets.warehouse.migrations import MigrationError, apply_migrations, pending_migrations

__all__ = [
    "MigrationError",
    "WarehouseLockedError",
    "WarehouseOutdatedError",
    "apply_migrations",
    "insert_rows",
    "markdown_preview",
    "memory_limit",
    "open_warehouse",
    "pending_migrations",
    "registered",
    "run_sql",
    "table_columns",
    "transaction",
    "window_params",
]
