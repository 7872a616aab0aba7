"""The usage snapshot re-reads only the events received since a cut-off, on a real PostgreSQL source
(pgserver), and ends exactly where a full read of the same source ends: the staged events, the refused
ones with their reasons and tenants, the idempotency-key index, and the metered usage computed from
them. Every reason to read the whole table instead is provoked once, and each is named in the result."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from billing_assets.sample_world.writer import load_source
from billing_assets.source import validation
from billing_assets.source.assets import UsageSnapshot, snapshot_small_tables, snapshot_usage_events
from billing_assets.source.resources import SourceDatabaseResource
from billing_assets.warehouse import open_warehouse, run_sql, transaction
from tests.conftest import Env, make_resources

FIRST = "SELECT {} FROM usage_events ORDER BY received_at, event_id LIMIT 1"  # the earliest received event
LATEST = "SELECT max(received_at) FROM usage_events"
MONTHS = ("2026-02-01", "2026-03-01", "2026-04-01", "2026-05-01", "2026-06-01")


def snap(path: Path, url: str, limits: validation.Limits = validation.DEFAULT_LIMITS,
         full_refresh: bool = False) -> UsageSnapshot:
    with open_warehouse(path) as conn, transaction(conn):
        if not conn.execute("SELECT count(*) FROM staging.tenants").fetchone()[0]:
            snapshot_small_tables(conn, SourceDatabaseResource(url=url))
        return snapshot_usage_events(conn, SourceDatabaseResource(url=url), limits, full_refresh)


def state(path: Path) -> dict[str, list]:
    """Everything a usage snapshot decides, and the metering of five months computed from it."""
    with open_warehouse(path) as conn:
        with transaction(conn):
            for month in MONTHS:
                start = datetime.fromisoformat(month)
                params = {"window_start": start, "window_end": (start + timedelta(days=32)).replace(day=1),
                          "grace_hours": 3}
                run_sql(conn, "metering/metered_usage.sql", params)
                run_sql(conn, "metering/billable_usage.sql", params)
        return {name: conn.execute(query).fetchall() for name, query in {
            "events": "SELECT * FROM staging.usage_events ORDER BY event_id",
            "refused": "SELECT * EXCLUDE (snapshot_at) FROM staging.source_rejections WHERE table_name = "
                       "'usage_events' ORDER BY ALL",
            "index": "SELECT * FROM staging.repeated_usage_keys ORDER BY ALL",
            "metered": "SELECT * EXCLUDE (cutoff_at) FROM revenue.metered_usage ORDER BY ALL",
            "billable": "SELECT * FROM revenue.billable_usage ORDER BY ALL"}.items()}


def full_read(tmp_path: Path, url: str, limits: validation.Limits = validation.DEFAULT_LIMITS) -> dict[str, list]:
    """The same source read whole into a warehouse of its own: what the incremental snapshot must equal."""
    path = tmp_path / f"full_{len(list(tmp_path.glob('full_*')))}.duckdb"
    assert snap(path, url, limits).since is None
    return state(path)


def source(url: str, *statements: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for statement in statements:
            conn.execute(sa.text(statement))
    engine.dispose()


def scalar(url: str, query: str):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(query)).scalar()
    engine.dispose()
    return value


@pytest.fixture
def pg_world(world, pg_url) -> str:
    load_source(pg_url, world)
    return pg_url


def event(event_id: str, key: str, quantity: int, occurred: str, received: str, url: str,
          deployment: str | None = None, metric: str = "api_requests") -> str:
    deployment = deployment or scalar(url, "SELECT min(deployment_id) FROM usage_events WHERE metric = 'api_requests'")
    return (f"INSERT INTO usage_events VALUES ('{event_id}', '{key}', '{deployment}', '{metric}', {quantity}, "
            f"'{occurred}', '{received}')")


def test_an_incremental_snapshot_ends_where_a_full_read_ends(tmp_path, pg_world):
    """Between two snapshots the platform records: a new event; a retry of an event staged months ago
    (same content, received now: a duplicate spanning the cut-off, the old copy still wins); an event
    committed late with a received_at 2 hours before the latest staged one (inside the 24 h look-back);
    a late event for February; an implausible quantity; and a new key carried by two events of
    different quantities. The second snapshot reads only from the cut-off on, and everything it
    decides, down to metered usage, equals a full read of the same source."""
    url = pg_world
    warehouse = tmp_path / "warehouse.duckdb"
    first = snap(warehouse, url)
    assert (first.since, first.reason) == (None, "no earlier usage snapshot to build on")
    latest = scalar(url, LATEST)
    old_event, old_key, old_dep, old_metric, old_quantity, old_occurred = [scalar(url, FIRST.format(column)) for column in (
        "event_id", "idempotency_key", "deployment_id", "metric", "quantity", "occurred_at")]
    after = latest + timedelta(hours=1)
    source(url,
           event("new-1", "new-key-1", 40, f"{latest}", f"{after}", url),
           event("retry-1", old_key, old_quantity, f"{old_occurred}", f"{after}", url, old_dep, old_metric),
           event("late-commit-1", "late-commit-key", 7, f"{latest - timedelta(hours=3)}",
                 f"{latest - timedelta(hours=2)}", url),
           event("late-feb-1", "late-feb-key", 11, "2026-02-27 10:00:00", f"{after}", url),
           event("huge-1", "huge-key", 10 ** 13, f"{latest}", f"{after}", url),
           event("clash-1", "clash-key", 1, f"{latest}", f"{after}", url),
           event("clash-2", "clash-key", 2, f"{latest}", f"{after + timedelta(seconds=1)}", url))

    second = snap(warehouse, url)
    assert second.since == latest - timedelta(hours=24)  # the latest staged event, less the look-back
    in_window = scalar(url, f"SELECT count(*) FROM usage_events WHERE received_at >= '{second.since}'")
    assert second.read == in_window < first.read / 10
    assert "match the source's count" in second.reason
    assert state(warehouse) == full_read(tmp_path, url)
    with open_warehouse(warehouse, read_only=True) as conn:
        assert conn.execute("SELECT first_event_id, copies FROM staging.repeated_usage_keys WHERE idempotency_key "
                            "= ?", [old_key]).fetchone() == (old_event, 2)
        refused = conn.execute("SELECT primary_key, reason FROM staging.source_rejections ORDER BY ALL").fetchall()
        assert [r[0] for r in refused] == ["clash-1", "clash-2", "huge-1"]
        assert conn.execute("SELECT read_since FROM staging.snapshot_log WHERE table_name = 'usage_events' "
                            "ORDER BY snapshot_at").fetchall() == [(None,), (second.since,)]

    third = snap(warehouse, url)  # the refusals are outstanding: their fix may be an edit of an old event
    assert third.since is None and third.reason.startswith("3 refused usage event value(s) outstanding")


CHANGES = {
    # name: (what the platform does to the source, reason fragment)
    "the earliest event deleted": (
        lambda url: [f"DELETE FROM usage_events WHERE event_id = '{scalar(url, FIRST.format('event_id'))}'"],
        "an event was deleted, or inserted with an old received_at"),
    "an event inserted with a received_at a month old": (
        lambda url: [event("backdated-1", "backdated-key", 5, f"{scalar(url, LATEST) - timedelta(days=31)}",
                           f"{scalar(url, LATEST) - timedelta(days=30)}", url)],
        "an event was deleted, or inserted with an old received_at"),
    "the earliest event's key reused now with another quantity": (
        lambda url: [event("reuse-1", scalar(url, FIRST.format("idempotency_key")), 999_999,
                           f"{scalar(url, LATEST)}", f"{scalar(url, LATEST) + timedelta(hours=1)}", url,
                           scalar(url, FIRST.format("deployment_id")), scalar(url, FIRST.format("metric")))],
        "1 idempotency key(s) of the re-read events also carried before the cut-off by an event of other content"),
}


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_change_before_the_cut_off_makes_the_snapshot_read_everything(change, tmp_path, pg_world):
    url = pg_world
    warehouse = tmp_path / "warehouse.duckdb"
    snap(warehouse, url)
    statements, reason = CHANGES[change]
    source(url, *statements(url))
    done = snap(warehouse, url)
    assert done.since is None and reason in done.reason
    assert state(warehouse) == full_read(tmp_path, url)


def test_a_lowered_quantity_limit_and_full_refresh_read_everything(tmp_path, pg_world):
    url = pg_world
    warehouse = tmp_path / "warehouse.duckdb"
    snap(warehouse, url)
    done = snap(warehouse, url, full_refresh=True)
    assert (done.since, done.reason) == (None, "full_refresh was asked for")
    biggest = scalar(url, "SELECT max(quantity) FROM usage_events")
    lowered = validation.Limits(max_event_quantity=biggest - 1)
    done = snap(warehouse, url, lowered)
    assert done.since is None and "above max_event_quantity" in done.reason
    assert state(warehouse) == full_read(tmp_path, url, lowered)


def test_another_source_is_read_whole(tmp_path, world, pg_world, pg_server):
    """The same world in a second database: counts would agree, but what was staged came from elsewhere."""
    pg_server.psql("CREATE DATABASE other_source;")
    other = sa.make_url(pg_world).set(database="other_source").render_as_string(hide_password=False)
    load_source(other, world)
    warehouse = tmp_path / "warehouse.duckdb"
    snap(warehouse, pg_world)
    done = snap(warehouse, other)
    assert done.since is None and done.reason.startswith("the last usage snapshot read another source")
    assert snap(warehouse, other).since is not None  # and from then on, that source is built on


def test_a_text_typed_source_is_always_read_whole(tmp_path, world):
    """SQLite keeps timestamps as text, where '2026-06-14T08:00:00' sorts after '2026-06-14 09:00:00':
    no cut-off can be trusted there."""
    url = f"sqlite:///{tmp_path / 'source.sqlite'}"
    load_source(url, world)
    warehouse = tmp_path / "warehouse.duckdb"
    snap(warehouse, url)
    done = snap(warehouse, url)
    assert done.since is None and "does not type received_at as a timestamp" in done.reason


def test_a_full_refresh_confirms_the_incremental_reads_and_catches_an_edit_in_place(tmp_path, pg_world):
    """The one change a cut-off cannot see, an event received before it edited in place (the count stays),
    is what the weekly full refresh is for: it confirms what the incremental reads kept, or says they
    differed, and repairs staging."""
    url = pg_world
    warehouse = tmp_path / "warehouse.duckdb"
    snap(warehouse, url)
    latest = scalar(url, LATEST)
    source(url, event("new-1", "new-key-1", 40, f"{latest}", f"{latest + timedelta(hours=1)}", url))
    assert snap(warehouse, url).since is not None
    confirmed = snap(warehouse, url, full_refresh=True)
    (events, checksum), after, _ = confirmed.kept
    assert after == (events, checksum) and events > 6_000

    first, quantity = scalar(url, FIRST.format("event_id")), scalar(url, FIRST.format("quantity"))
    source(url, event("new-2", "new-key-2", 40, f"{latest}", f"{latest + timedelta(hours=2)}", url),
           f"UPDATE usage_events SET quantity = quantity + 1 WHERE event_id = '{first}'")
    assert snap(warehouse, url).since is not None  # the count before the cut-off did not change: not seen
    staged = "SELECT quantity FROM staging.usage_events WHERE event_id = ?"
    with open_warehouse(warehouse, read_only=True) as conn:
        assert conn.execute(staged, [first]).fetchone()[0] == quantity
    caught = snap(warehouse, url, full_refresh=True)
    (events_before, sum_before), (events_after, sum_after), _ = caught.kept
    assert events_before == events_after and sum_before != sum_after
    with open_warehouse(warehouse, read_only=True) as conn:
        assert conn.execute(staged, [first]).fetchone()[0] == quantity + 1


def test_the_asset_says_what_it_read_and_why(tmp_path, pg_world):
    env = Env(tmp_path, make_resources(tmp_path, source_url=pg_world))
    selection = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
                 "source_cloud_resources", "source_usage_events"]
    pages, checks = [], []
    for run in range(3):
        if run < 2:
            result = env.materialize(selection)
        else:  # the weekly job: every event read again, the incremental reads confirmed
            result = env.defs.resolve_job_def("usage_full_refresh_weekly").execute_in_process()
        [page] = [m.metadata for m in result.asset_materializations_for_node("source_usage_events")]
        pages.append({k: getattr(page[k], "value", page[k]) for k in ("read", "read_reason", "events_read",
                                                                       "dagster/row_count")})
        checks.append({c.check_name: (c.passed, c.metadata["compared"].value) for c in
                       result.get_asset_check_evaluations() if c.check_name == "incremental_reads_confirmed"})
    assert pages[0]["read"] == pages[2]["read"] == "whole table"
    cut_off = scalar(pg_world, LATEST) - timedelta(hours=24)
    assert pages[1]["read"] == f"received from {cut_off:%Y-%m-%d %H:%M:%S} UTC on"
    assert pages[1]["events_read"] == scalar(pg_world, f"SELECT count(*) FROM usage_events WHERE received_at >= "
                                                       f"'{cut_off}'") < pages[0]["events_read"] / 10
    assert pages[0]["dagster/row_count"] == pages[1]["dagster/row_count"] == pages[2]["dagster/row_count"]
    assert pages[2]["read_reason"] == "full_refresh was asked for"
    assert checks == [{"incremental_reads_confirmed": (True, False)}] * 2 + [
        {"incremental_reads_confirmed": (True, True)}]
