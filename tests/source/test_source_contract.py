"""The source contract loads, and reads back identically, on SQLite and on PostgreSQL (pgserver)."""

import pytest
import sqlalchemy as sa

from billing_assets.sample_world.writer import SOURCE_TABLES, load_source
from billing_assets.source.reader import SourceError, natively_typed_columns, open_reader


def _read(url, table):
    with open_reader(url, f"SELECT * FROM {table} ORDER BY 1") as reader:
        return reader.read_all()


def test_contract_on_sqlite_and_postgres(tmp_path, world, pg_url):
    sqlite_url = f"sqlite:///{tmp_path / 's.sqlite'}"
    load_source(sqlite_url, world)
    load_source(pg_url, world)
    for table in SOURCE_TABLES:
        engine = sa.create_engine(pg_url)
        with engine.connect() as conn:
            assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() == len(world.tables[table])
        engine.dispose()
    a, b = _read(sqlite_url, "usage_events"), _read(pg_url, "usage_events")
    assert a.num_rows == b.num_rows == len(world.tables["usage_events"])
    assert a.column("idempotency_key").to_pylist() == b.column("idempotency_key").to_pylist()
    # PostgreSQL's types guarantee timestamps and whole numbers, so those are read typed; SQLite's guarantee nothing.
    assert natively_typed_columns(pg_url, "usage_events") == {
        "quantity": "bigint", "occurred_at": "timestamp without time zone", "received_at": "timestamp without time zone"}
    assert natively_typed_columns(sqlite_url, "usage_events") == {}


def test_contract_enforces_its_constraints(tmp_path, world):
    url = f"sqlite:///{tmp_path / 's.sqlite'}"
    load_source(url, world)
    engine = sa.create_engine(url)
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO deployments VALUES ('x', 'nobody', 'dup', 'exploded', "
                             "'2026-01-01 00:00:00', NULL)"))
    engine.dispose()


def test_unreadable_source_names_the_problem_without_the_password(tmp_path):
    with pytest.raises(SourceError) as err:
        with open_reader("postgresql+psycopg2://u:s3cret-pw@127.0.0.1:1/db", "SELECT 1"):
            pass
    assert "s3cret-pw" not in str(err.value)
    assert "***" in str(err.value)
    with pytest.raises(SourceError, match="not a SQLAlchemy URL"):
        with open_reader("definitely not a url", "SELECT 1"):
            pass
