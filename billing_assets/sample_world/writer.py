"""Writes a World into a source database (any SQLAlchemy URL) and a DigitalOcean export folder."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from billing_assets.sample_world.do_account import account_documents
from billing_assets.sample_world.world import World, WorldParams, build_world
from billing_assets.sql_files import read_sql, statements

# Insert order respects the foreign keys of sql/source/schema.sql.
SOURCE_TABLES = (
    "tenants", "tenant_budgets", "deployments", "plans", "plan_versions", "plan_version_charges", "plan_version_charge_tiers",
    "add_ons", "subscriptions", "subscription_phases", "subscription_add_ons", "credit_grants", "cloud_resources",
    "usage_events",
)


def create_source_schema(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for statement in statements(read_sql("source/schema.sql")):
            conn.exec_driver_sql(statement)


def _bindable(row: dict, sqlite: bool) -> dict:
    if not sqlite:
        return row
    return {k: v.strftime("%Y-%m-%d %H:%M:%S") if isinstance(v, datetime) else v for k, v in row.items()}


def load_source(url: str, world: World) -> None:
    """Create the source contract at `url` and fill it with the world (the database must be empty)."""
    engine = sa.create_engine(url)
    try:
        create_source_schema(engine)
        sqlite = engine.dialect.name == "sqlite"
        with engine.begin() as conn:
            for table in SOURCE_TABLES:
                rows = world.tables[table]
                if not rows:
                    continue
                columns = list(rows[0])
                insert = sa.text(
                    f"INSERT INTO {table} ({', '.join(columns)}) "  # noqa: S608 - table and columns are constants
                    f"VALUES ({', '.join(':' + c for c in columns)})"
                )
                conn.execute(insert, [_bindable(r, sqlite) for r in rows])
    finally:
        engine.dispose()


def write_export_folder(folder: Path, world: World) -> None:
    for relative, content in account_documents(world).items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)


def write_sample_world(source_path: Path, export_dir: Path, params: WorldParams | None = None) -> World:
    """Create the SQLite source database and the export folder from scratch."""
    world = build_world(params)
    source_path.parent.mkdir(parents=True, exist_ok=True)
    if source_path.exists():
        source_path.unlink()
    load_source(f"sqlite:///{source_path}", world)
    write_export_folder(export_dir, world)
    return world
