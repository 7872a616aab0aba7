"""Metered usage through Dagster's materialize on real SQLite/PostgreSQL sources and DuckDB."""

import sqlite3

import pytest

from billing_assets.sample_world import stable_id
from billing_assets.sample_world.writer import load_source
from billing_assets.source.resources import SourceDatabaseResource
from tests.conftest import Env, make_resources

SNAPSHOT = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
            "source_cloud_resources", "source_usage_events"]
PILOT = stable_id("deployment", "acme-studio")


def meter(env: Env, month: str, **kw):
    return env.materialize([*SNAPSHOT, "metered_usage"], partition_key=f"{month}-01", **kw)


def usage(env: Env, month: str, deployment: str = PILOT) -> dict:
    with env.connect() as conn:
        rows = conn.execute("SELECT metric, quantity, late_quantity, duplicate_count FROM revenue.metered_usage "
                            "WHERE period_start = ? AND deployment_id = ?", [f"{month}-01", deployment]).fetchall()
    return {m: (q, late, dup) for m, q, late, dup in rows}


def add_events(env: Env, rows: list[tuple]) -> None:
    conn = sqlite3.connect(env.root / "source.sqlite")
    conn.executemany("INSERT INTO usage_events VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    conn.commit()
    conn.close()


def test_pilot_droplet_hours(env):
    meter(env, "2026-04")
    assert usage(env, "2026-04")["droplet_hours"] == (2160, 0, 0)


def test_duplicates_count_once_even_across_months(env):
    meter(env, "2026-04")
    meter(env, "2026-05")
    april_before, may_before = usage(env, "2026-04")["build_minutes"], usage(env, "2026-05")["build_minutes"]
    add_events(env, [
        ("e-1", "k-cross", PILOT, "build_minutes", 7, "2026-04-30 23:50:00", "2026-04-30 23:50:01"),
        # the client's retry: a new event id and new timestamps, landing in the next month
        ("e-2", "k-cross", PILOT, "build_minutes", 7, "2026-05-01 00:20:00", "2026-05-01 00:20:05"),
    ])
    meter(env, "2026-04")
    meter(env, "2026-05")
    april, may = usage(env, "2026-04")["build_minutes"], usage(env, "2026-05")["build_minutes"]
    assert april[0] == april_before[0] + 7 and april[2] == april_before[2] + 1  # first received wins
    assert may == may_before                                                    # the retry is not counted


def test_late_event_is_reported_not_lost(env):
    add_events(env, [("late-1", "k-late", PILOT, "api_requests", 999, "2026-04-20 10:00:00", "2026-05-09 12:00:00")])
    result = meter(env, "2026-04")
    assert usage(env, "2026-04")["api_requests"][1] >= 999
    with env.connect() as conn:
        late = conn.execute("SELECT quantity, received_at, cutoff_at FROM revenue.late_usage WHERE event_id = "
                            "'late-1'").fetchall()
    assert late and late[0][0] == 999 and str(late[0][2]) == "2026-05-01 03:00:00"
    meta = result.asset_materializations_for_node("metered_usage")[0].metadata
    assert meta["late_events"].value >= 1 and meta["late_usage_grace_hours"].value == 3


def test_grace_period_is_configurable(env):
    add_events(env, [("late-2", "k-late2", PILOT, "api_requests", 5, "2026-04-20 10:00:00", "2026-05-01 05:00:00")])
    meter(env, "2026-04", run_config={"ops": {"metered_usage": {"config": {"late_usage_grace_hours": 6}}}})
    with env.connect() as conn:
        assert not conn.execute("SELECT 1 FROM revenue.late_usage WHERE event_id = 'late-2'").fetchall()


def test_resource_across_a_month_boundary_is_split_exactly(env):
    conn = sqlite3.connect(env.root / "source.sqlite")
    conn.execute("INSERT INTO cloud_resources VALUES ('r-x', ?, 'digitalocean', 'droplet', '1', NULL, 'edge', "
                 "'s-1vcpu-1gb', 'syd1', '2026-04-29 10:30:00', '2026-05-02 01:15:00')", [PILOT])
    conn.commit()
    conn.close()
    meter(env, "2026-04")
    meter(env, "2026-05")
    # April: 37.5 h -> 38 (rounded up per resource per month); May: 25.25 h -> 26
    assert usage(env, "2026-04")["droplet_hours"][0] == 2160 + 38
    assert usage(env, "2026-05")["droplet_hours"][0] == 3 * 744 + 26


def test_unknown_references_are_listed_and_negative_quantities_refused(env):
    add_events(env, [("neg-1", "k-neg", PILOT, "api_requests", -50, "2026-04-03 00:00:00", "2026-04-03 00:00:01")])
    result = meter(env, "2026-04", raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["no_negative_quantities"].passed
    assert "neg-1" in checks["no_negative_quantities"].metadata["details"].value
    june = meter(env, "2026-06")
    unknown = {e.check_name: e for e in june.get_asset_check_evaluations()}["no_unknown_deployments_or_metrics"]
    assert not unknown.passed and unknown.metadata["findings"].value == 2
    with env.connect() as conn:
        reasons = conn.execute("SELECT reason FROM revenue.usage_rejections ORDER BY 1").fetchall()
    assert ("negative quantity",) in reasons and ("unknown deployment",) in reasons


def test_running_a_month_twice_gives_identical_rows(env):
    meter(env, "2026-04")
    with env.connect() as conn:
        first = conn.execute("SELECT * FROM revenue.metered_usage ORDER BY ALL").fetchall()
    meter(env, "2026-04")
    with env.connect() as conn:
        assert conn.execute("SELECT * FROM revenue.metered_usage ORDER BY ALL").fetchall() == first


def test_sqlite_and_postgres_sources_give_identical_usage(env, world, pg_url, tmp_path):
    load_source(pg_url, world)
    pg_env = Env(tmp_path / "pg", make_resources(tmp_path / "pg", source_url=pg_url))
    (tmp_path / "pg").mkdir()
    meter(env, "2026-04")
    meter(pg_env, "2026-04")
    query = "SELECT * FROM revenue.metered_usage ORDER BY ALL"
    with env.connect() as a, pg_env.connect() as b:
        assert a.execute(query).fetchall() == b.execute(query).fetchall()


def test_broken_source_fails_clearly_and_leaves_the_warehouse_as_it_was(env):
    meter(env, "2026-04")
    with env.connect() as conn:
        before = conn.execute("SELECT count(*) FROM staging.usage_events").fetchone()[0]
    conn = sqlite3.connect(env.root / "source.sqlite")
    conn.execute("ALTER TABLE usage_events RENAME COLUMN quantity TO qty")
    conn.commit()
    conn.close()
    with pytest.raises(Exception, match="quantity"):
        env.materialize(SNAPSHOT)
    with env.connect() as conn:
        assert conn.execute("SELECT count(*) FROM staging.usage_events").fetchone()[0] == before


def test_usage_events_from_a_parquet_drop(env, world, tmp_path):
    import duckdb

    from billing_assets.sample_world.events import write_usage_events_parquet

    drop = tmp_path / "drop" / "events.parquet"
    n = write_usage_events_parquet(drop, world, 20_000, duplicate_rate=0.05, seed=7)
    again = tmp_path / "again.parquet"
    write_usage_events_parquet(again, world, 20_000, duplicate_rate=0.05, seed=7)
    assert drop.read_bytes() == again.read_bytes()  # same seed, same bytes
    resources = {**env.resources, "source_db": SourceDatabaseResource(
        url=env.resources["source_db"].url, usage_events_parquet=str(tmp_path / "drop" / "*.parquet"))}
    parquet_env = Env(env.root, resources)
    meter(parquet_env, "2026-04")
    reference = duckdb.connect().execute(
        "SELECT sum(quantity) FROM (SELECT * FROM read_parquet(?) QUALIFY row_number() OVER (PARTITION BY "
        "idempotency_key ORDER BY received_at, event_id) = 1) WHERE occurred_at < '2026-05-01'", [str(drop)]
    ).fetchone()[0]
    with env.connect() as conn:
        staged = conn.execute("SELECT count(*) FROM staging.usage_events").fetchone()[0]
        metered = conn.execute("SELECT sum(quantity + late_quantity) FROM revenue.metered_usage WHERE source = "
                               "'events' AND period_start = '2026-04-01'").fetchone()[0]
    assert staged == n and metered == reference


def test_a_parquet_drop_without_a_contract_column_is_refused(env, tmp_path):
    import duckdb

    bad = tmp_path / "bad.parquet"
    duckdb.connect().execute(f"COPY (SELECT 'e' AS event_id, 'k' AS idempotency_key) TO '{bad}' (FORMAT parquet)")
    resources = {**env.resources, "source_db": SourceDatabaseResource(
        url=env.resources["source_db"].url, usage_events_parquet=str(bad))}
    with pytest.raises(Exception, match="usage events Parquet drop .*bad.parquet"):
        Env(env.root, resources).materialize(["source_usage_events"])


def test_a_typed_parquet_drop_is_judged_by_its_types(env, world, tmp_path):
    """Columns that arrive typed skip the text rules but not the contract: an offset timestamp becomes
    UTC, a fractional or missing quantity is refused by name, an integer beyond BIGINT is out of range."""
    import duckdb

    deployment = next(d["deployment_id"] for d in world.tables["deployments"] if d["state"] == "active")
    drop = tmp_path / "drop"
    drop.mkdir()
    at = "TIMESTAMPTZ '2026-04-30 23:30:00+02:00'"  # 21:30 UTC: still April
    with duckdb.connect() as conn:
        conn.execute("SET TimeZone = 'UTC'")
        conn.execute(f"""COPY (SELECT * FROM (VALUES
            ('ok', 'k-ok', '{deployment}', 'api_requests', 5::BIGINT, {at}, {at}),
            ('null-qty', 'k-null', '{deployment}', 'api_requests', NULL::BIGINT, {at}, {at})
            ) v(event_id, idempotency_key, deployment_id, metric, quantity, occurred_at, received_at))
            TO '{drop / "a.parquet"}' (FORMAT parquet)""")
        conn.execute(f"""COPY (SELECT 'huge' AS event_id, 'k-huge' AS idempotency_key, '{deployment}' AS deployment_id,
            'api_requests' AS metric, 18446744073709551615::UBIGINT AS quantity, {at} AS occurred_at,
            {at} AS received_at) TO '{drop / "b.parquet"}' (FORMAT parquet)""")
        conn.execute(f"""COPY (SELECT 'half' AS event_id, 'k-half' AS idempotency_key, '{deployment}' AS deployment_id,
            'api_requests' AS metric, 2.5::DOUBLE AS quantity, {at} AS occurred_at, {at} AS received_at)
            TO '{drop / "c.parquet"}' (FORMAT parquet)""")
    for name in ("b.parquet", "c.parquet"):  # one schema per drop: each odd file is landed on its own
        resources = {**env.resources, "source_db": SourceDatabaseResource(
            url=env.resources["source_db"].url, usage_events_parquet=str(drop / name))}
        Env(env.root, resources).materialize(["source_usage_events"], raise_on_error=False)
        with env.connect() as conn:
            reasons = conn.execute("SELECT primary_key, column_name, reason FROM staging.source_rejections "
                                   "WHERE table_name = 'usage_events'").fetchall()
        assert reasons == ([("huge", "quantity", "out of range for BIGINT")] if name == "b.parquet"
                           else [("half", "quantity", "not a whole number")]), reasons
    resources = {**env.resources, "source_db": SourceDatabaseResource(
        url=env.resources["source_db"].url, usage_events_parquet=str(drop / "a.parquet"))}
    Env(env.root, resources).materialize(["source_usage_events"], raise_on_error=False)
    with env.connect() as conn:
        staged = conn.execute("SELECT event_id, quantity, occurred_at FROM staging.usage_events").fetchall()
        reasons = conn.execute("SELECT primary_key, column_name, reason FROM staging.source_rejections "
                               "WHERE table_name = 'usage_events'").fetchall()
    assert [(e, q, str(t)) for e, q, t in staged] == [("ok", 5, "2026-04-30 21:30:00")]
    assert reasons == [("null-qty", "quantity", "missing (the column is required)")]
