"""Versioned warehouse migrations: numbered SQL files applied once each, in order, and recorded.

Why not `CREATE ... IF NOT EXISTS` on every connection: the first release that changes a table would
silently keep the old shape in every existing warehouse. Here a warehouse knows which migrations it
has, a pending one runs inside a transaction (all or nothing) and is recorded with its checksum, and
a migration edited after it was applied is refused instead of being half-believed.

Migrations live in `sql/migrations/NNNN_name.sql` (shipped in the wheel as `billing_assets.sql`).
The first eight reproduce the schema of release 0.1.0, which created tables with `IF NOT EXISTS`;
they keep that form so a 0.1.0 warehouse (which has the tables but no record of them) adopts them
in place, and the migrations after them change what they change.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache

import duckdb

from billing_assets.sql_files import read_sql, sql_folder, statements

FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)\.sql$")
FIRST_RELEASE_VERSION = 8  # the schema release 0.1.0 created without recording it


class MigrationError(RuntimeError):
    """The warehouse's recorded migrations and this release's files disagree."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@cache
def release_migrations() -> tuple[Migration, ...]:
    """This release's migrations, in order; numbering must start at 1 and have no gaps."""
    found = []
    for entry in sql_folder("migrations").iterdir():
        match = FILE_NAME.match(entry.name)
        if match:
            found.append(Migration(int(match["version"]), match["name"], read_sql(f"migrations/{entry.name}")))
        elif entry.name.endswith(".sql"):
            raise MigrationError(f"migration file {entry.name!r} is not named NNNN_lower_snake.sql")
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"migration versions must run 1..N without gaps or repeats, found {versions}")
    return tuple(found)


BOOTSTRAP = """
CREATE SCHEMA IF NOT EXISTS meta;
CREATE TABLE IF NOT EXISTS meta.schema_migrations (
    version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, checksum VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)
"""


def _recorded(conn: duckdb.DuckDBPyConnection) -> dict[int, tuple[str, str]]:
    exists = conn.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' "
                          "AND table_name = 'schema_migrations'").fetchone()[0]
    if not exists:
        return {}
    return {v: (n, c) for v, n, c in conn.execute(
        "SELECT version, name, checksum FROM meta.schema_migrations ORDER BY version").fetchall()}


def pending_migrations(conn: duckdb.DuckDBPyConnection,
                       migrations: tuple[Migration, ...] | None = None) -> list[Migration]:
    """What this release would apply; raises if the recorded history contradicts the files."""
    migrations = release_migrations() if migrations is None else migrations
    recorded = _recorded(conn)
    known = {m.version: m for m in migrations}
    newer = sorted(set(recorded) - set(known))
    if newer:
        raise MigrationError(
            f"the warehouse has migrations this release does not know ({', '.join(map(str, newer))}, up to "
            f"{recorded[newer[-1]][0]}): it was upgraded by a newer billing_assets; run that release")
    for version, (_, checksum) in recorded.items():
        if known[version].checksum != checksum:
            raise MigrationError(
                f"migration {known[version].label} was changed after it was applied to this warehouse "
                f"(recorded checksum {checksum[:12]}…, file {known[version].checksum[:12]}…): applied "
                f"migrations are never edited; restore the file and add a new migration instead")
    return [m for m in migrations if m.version not in recorded]


def apply_migrations(conn: duckdb.DuckDBPyConnection, migrations: tuple[Migration, ...] | None = None,
                     now: datetime | None = None) -> list[Migration]:
    """Apply every pending migration in order, each in its own transaction, and record it."""
    todo = pending_migrations(conn, migrations)
    if not todo:
        return []
    for migration in todo:
        conn.execute("BEGIN TRANSACTION")
        try:
            conn.execute(BOOTSTRAP)
            for statement in statements(migration.sql):
                conn.execute(statement)
            conn.execute("INSERT INTO meta.schema_migrations VALUES (?, ?, ?, ?)",
                         [migration.version, migration.name, migration.checksum,
                          (now or datetime.now(UTC)).replace(tzinfo=None)])
        except Exception as exc:
            conn.execute("ROLLBACK")
            raise MigrationError(f"migration {migration.label} failed and was rolled back: {exc}") from exc
        conn.execute("COMMIT")
    return todo
