"""Versioned warehouse migrations: applied once each, in order, in a transaction, recorded with a
checksum; an edited applied migration, or a warehouse newer than the code, is refused; a warehouse
created by release 0.1.0 (tables, no record of them) upgrades in place with every row kept."""

from __future__ import annotations

import duckdb
import pytest

from billing_assets.cli import main as cli_main
from billing_assets.ingest.raw_store import raw_bytes
from billing_assets.sql_files import statements
from billing_assets.warehouse import (
    MigrationError,
    WarehouseOutdatedError,
    apply_migrations,
    open_warehouse,
    pending_migrations,
)
from billing_assets.warehouse.migrations import FIRST_RELEASE_VERSION, Migration, release_migrations

M1 = Migration(1, "people", "CREATE SCHEMA s;\nCREATE TABLE s.people (id INTEGER PRIMARY KEY, name VARCHAR);")
M2 = Migration(2, "ages", "ALTER TABLE s.people ADD COLUMN age INTEGER;")


def recorded(conn) -> list[tuple]:
    return conn.execute("SELECT version, name, checksum FROM meta.schema_migrations ORDER BY version").fetchall()


def test_release_migrations_are_numbered_without_gaps_and_include_the_first_release():
    versions = [m.version for m in release_migrations()]
    assert versions == list(range(1, len(versions) + 1))
    assert len(versions) > FIRST_RELEASE_VERSION, "the upgrade test below needs a migration after release 0.1.0"


def test_a_new_warehouse_gets_every_migration_once(tmp_path):
    path = tmp_path / "w.duckdb"
    with open_warehouse(path) as conn:
        first = recorded(conn)
    assert [(v, n, c) for v, n, c in first] == [(m.version, m.name, m.checksum) for m in release_migrations()]
    with open_warehouse(path) as conn:  # a second open applies nothing and records nothing new
        assert pending_migrations(conn) == []
        assert recorded(conn) == first


def test_pending_migrations_apply_in_order_and_only_once():
    conn = duckdb.connect()
    assert [m.version for m in apply_migrations(conn, (M1,))] == [1]
    conn.execute("INSERT INTO s.people VALUES (1, 'ada')")
    assert [m.version for m in apply_migrations(conn, (M1, M2))] == [2]
    assert apply_migrations(conn, (M1, M2)) == []
    assert conn.execute("SELECT * FROM s.people").fetchall() == [(1, "ada", None)]
    assert [r[:2] for r in recorded(conn)] == [(1, "people"), (2, "ages")]


def test_an_applied_migration_that_was_edited_is_refused_by_name():
    conn = duckdb.connect()
    apply_migrations(conn, (M1,))
    edited = Migration(1, "people", M1.sql.replace("name VARCHAR", "name VARCHAR NOT NULL"))
    with pytest.raises(MigrationError, match=r"migration 0001_people was changed after it was applied"):
        apply_migrations(conn, (edited, M2))
    assert [r[0] for r in recorded(conn)] == [1]  # and M2 was not applied behind the refusal


def test_a_warehouse_upgraded_by_a_newer_release_is_refused():
    conn = duckdb.connect()
    apply_migrations(conn, (M1, M2))
    with pytest.raises(MigrationError, match=r"migrations this release does not know \(2, up to ages\)"):
        apply_migrations(conn, (M1,))


def test_a_failing_migration_is_rolled_back_whole_and_not_recorded():
    conn = duckdb.connect()
    broken = Migration(2, "broken", "CREATE TABLE s.half (x INTEGER);\nINSERT INTO s.nowhere VALUES (1);")
    with pytest.raises(MigrationError, match=r"migration 0002_broken failed and was rolled back"):
        apply_migrations(conn, (M1, broken))
    assert [r[0] for r in recorded(conn)] == [1]
    tables = {r[0] for r in conn.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 's'").fetchall()}
    assert tables == {"people"}  # s.half, created before the failing statement, is gone with it


def test_a_reader_of_an_outdated_warehouse_is_told_to_migrate(tmp_path):
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as conn:
        apply_migrations(conn, release_migrations()[:FIRST_RELEASE_VERSION])
    with pytest.raises(WarehouseOutdatedError, match=r"lacks \d+ migration\(s\).*billing-assets migrate"):
        with open_warehouse(path, read_only=True):
            pass


def test_the_migrate_command_lists_then_applies(tmp_path, monkeypatch, capsys):
    path = tmp_path / "w.duckdb"
    monkeypatch.setenv("BILLING_WAREHOUSE_PATH", str(path))
    assert cli_main(["migrate", "--status"]) == 0
    assert f"{len(release_migrations())} migration(s) pending" in capsys.readouterr().out
    assert cli_main(["migrate"]) == 0
    assert f"{len(release_migrations())} migration(s) applied" in capsys.readouterr().out
    assert cli_main(["migrate", "--status"]) == 0
    assert "0 migration(s) pending" in capsys.readouterr().out


RENAMED_FOCUS_COLUMNS = {"ServiceProviderName": "x_ServiceProviderName", "HostProviderName": "x_HostProviderName"}


def build_release_0_1_0_warehouse(path, data_from) -> None:
    """A warehouse as release 0.1.0 left it: its DDL run with IF NOT EXISTS and no record of it (that
    release had no migrations), holding every row of a real month close copied from `data_from`."""
    with open_warehouse(data_from, read_only=True) as source:  # raw bytes: Python inflates the chunks
        raw = {sha: raw_bytes(source, sha) for (sha,) in source.execute(
            "SELECT DISTINCT sha256 FROM ingest.raw_documents").fetchall()}
    with duckdb.connect(str(path)) as conn:
        for migration in release_migrations()[:FIRST_RELEASE_VERSION]:
            for statement in statements(migration.sql):
                conn.execute(statement)
        conn.execute(f"ATTACH '{data_from}' AS src (READ_ONLY)")
        for table, columns in table_columns(conn).items():  # the columns 0.1.0 had; later ones are additions
            listed = ", ".join(f'"{c}"' for c in columns)
            # Release 0.1.0 numbered drafts too (INV-YYYYMM-SLUG): this copy's drafts get such numbers.
            selected = listed.replace('"invoice_number"', "coalesce(invoice_number, 'INV-' || "
                                      "strftime(period_start, '%Y%m') || '-' || upper(tenant_id))")
            for old, new in RENAMED_FOCUS_COLUMNS.items():  # their names before 0016
                selected = selected.replace(f'"{old}"', f'"{new}"')
            conn.execute(f"DELETE FROM {table}")  # reference rows the DDL seeded come with the copy
            if table == "ingest.raw_documents":  # 0.1.0 kept each document's bytes in raw_documents.content
                kept = [c for c in columns if c != "content"]
                rows = conn.execute(f"SELECT {', '.join(kept)} FROM src.{table}").fetchall()
                conn.executemany(f"INSERT INTO {table} ({', '.join(kept)}, content) VALUES "
                                 f"({', '.join('?' * (len(kept) + 1))})", [[*r, raw[r[kept.index('sha256')]]] for r in rows])
            else:
                conn.execute(f"INSERT INTO {table} ({listed}) SELECT {selected} FROM src.{table}")
        conn.execute("DETACH src")


def table_columns(conn) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for schema, table, column in conn.execute(
            "SELECT c.schema_name, c.table_name, c.column_name FROM duckdb_columns() c JOIN duckdb_tables() t "
            "USING (database_name, schema_name, table_name) WHERE c.database_name = current_database() "
            "AND c.schema_name <> 'meta' ORDER BY 1, 2, c.column_index").fetchall():
        out.setdefault(f"{schema}.{table}", []).append(column)
    return out


def table_rows(conn, columns: dict[str, list[str]]) -> dict[str, list[tuple]]:
    """Every row of every table, as the given columns (the old release's: new columns are additions)."""
    out = {}
    for table, cols in columns.items():
        listed = ", ".join(f'"{c}"' for c in cols)
        out[table] = sorted(conn.execute(f"SELECT {listed} FROM {table}").fetchall(), key=repr)
    return out


def test_a_release_0_1_0_warehouse_upgrades_in_place_with_no_row_lost(env, tmp_path):
    # A grace of a month keeps every event on time: release 0.1.0 had no prior_period_usage lines.
    env.month_close("2026-01-01", "2026-10-01",
                    run_config={"ops": {"metered_usage": {"config": {"late_usage_grace_hours": 744}}}})
    issue = env.defs.resolve_job_def("issue_invoices")
    assert issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": "2026-03"}}}}).success
    env.materialize(["ledger_entries"])
    old = tmp_path / "release_0_1_0.duckdb"
    build_release_0_1_0_warehouse(old, env.warehouse_path)
    with duckdb.connect(str(old)) as conn:
        old_columns = table_columns(conn)
        before = table_rows(conn, old_columns)
    assert sum(map(len, before.values())) > 1000 and before["cogs.cost_line_matches"], "the copy holds real data"
    assert {t for t, rows in before.items() if not rows} <= {  # what a month close without Stripe leaves empty
        "revenue.payment_reversals", "revenue.payments", "revenue.stripe_documents", "revenue.stripe_invoice_status",
        "revenue.usage_event_reversals", "revenue.late_usage"}  # (and a month's grace leaves no event late)

    with open_warehouse(old) as conn:  # the resource's read-write open applies what is pending
        renamed = RENAMED_FOCUS_COLUMNS
        after = table_rows(conn, {t: [renamed.get(c, c) if t == "cogs.focus_cost_rows" else c for c in cols]
                                  for t, cols in old_columns.items() if t != "ingest.raw_documents"})
        # raw_documents.content (its last column) moved to chunks (0013), compressed since 0014: read back as bytes.
        kept = [c for c in old_columns["ingest.raw_documents"] if c != "content"]
        rows = conn.execute(f"SELECT {', '.join(kept)} FROM ingest.raw_documents").fetchall()
        after["ingest.raw_documents"] = sorted(((*r, raw_bytes(conn, r[kept.index("sha256")])) for r in rows), key=repr)
        versions = [r[0] for r in recorded(conn)]
        with pytest.raises(duckdb.ConstraintException):  # migration 0009's vocabulary is now enforced
            conn.execute("UPDATE cogs.cost_line_matches SET match_method = 'guess' WHERE line_number = 1")
    assert versions == [m.version for m in release_migrations()]
    # Every row kept; migration 0012 takes drafts' numbers away (numbers are now given on issue).
    number, status = (old_columns["revenue.tenant_invoices"].index(c) for c in ("invoice_number", "status"))
    before["revenue.tenant_invoices"] = sorted(
        (tuple(None if i == number and row[status] == "draft" else v for i, v in enumerate(row))
         for row in before["revenue.tenant_invoices"]), key=repr)
    assert any(row[status] == "draft" for row in before["revenue.tenant_invoices"])
    assert after == before


def test_a_failed_statement_over_a_registered_frame_keeps_its_own_error():
    """In an aborted transaction unregistering fails too; the error that aborted it is the one raised."""
    import polars as pl

    from billing_assets.warehouse import registered

    conn = duckdb.connect()
    conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY)")
    conn.execute("BEGIN")
    with pytest.raises(duckdb.ConstraintException, match="duplicate key"):
        with registered(conn, "frame", pl.DataFrame({"k": [1, 1]})):
            conn.execute("INSERT INTO t SELECT k FROM frame")
    conn.execute("ROLLBACK")
