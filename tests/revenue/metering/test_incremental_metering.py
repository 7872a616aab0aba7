"""A month's metering reads only the events that can affect it, and still counts exactly what a full
deduplication of every staged event counts (issue 16, item 4).

The oracle below is written independently of sql/metering/: one window function over ALL staged
events (first received copy per idempotency key wins), then the month's rules. Metering runs month by
month (the incremental path the month close takes) and over the whole range at once (a range backfill),
and both must equal the oracle row for row: metered usage, and per invoice what is billed or unbilled.
"""

from datetime import datetime

import duckdb
import pytest

from billing_assets.periods import Period, months_in, naive, parse_month
from billing_assets.sample_world.events import write_usage_events_parquet
from billing_assets.source.assets import rebuild_key_index
from billing_assets.source.resources import SourceDatabaseResource
from billing_assets.warehouse import open_warehouse, run_sql, transaction
from tests.conftest import Env

SNAPSHOT = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
            "source_cloud_resources", "source_usage_events"]
GRACE = 3

ORACLE_METERED = """
WITH winners AS (
    SELECT *, count(*) OVER (PARTITION BY idempotency_key) - 1 AS duplicates FROM staging.usage_events
    QUALIFY row_number() OVER (PARTITION BY idempotency_key ORDER BY received_at, event_id) = 1
), counted AS (
    SELECT w.*, d.tenant_id, date_trunc('month', w.occurred_at) AS period_start
    FROM winners w JOIN staging.deployments d USING (deployment_id)
    WHERE w.idempotency_key NOT IN (SELECT idempotency_key FROM revenue.usage_event_reversals)
      AND w.metric IN (SELECT metric FROM staging.plan_version_charges) AND w.quantity >= 0
)
SELECT period_start, tenant_id, deployment_id, metric,
       coalesce(sum(quantity) FILTER (WHERE received_at < period_start + INTERVAL 1 MONTH + to_hours($grace)), 0),
       coalesce(sum(quantity) FILTER (WHERE received_at >= period_start + INTERVAL 1 MONTH + to_hours($grace)), 0),
       count(*), sum(duplicates)
FROM counted WHERE period_start >= $first AND period_start < $last
GROUP BY ALL ORDER BY ALL
"""
# What each month's invoice bills or leaves unbilled from events: every counted first copy belongs to
# the invoice of greatest(its month, the month of received_at - grace).
ORACLE_INVOICED = """
WITH winners AS (
    SELECT * FROM staging.usage_events
    QUALIFY row_number() OVER (PARTITION BY idempotency_key ORDER BY received_at, event_id) = 1
), counted AS (
    SELECT w.*, greatest(date_trunc('month', w.occurred_at), date_trunc('month', w.received_at - to_hours($grace)))
               AS billing_period_start
    FROM winners w JOIN staging.deployments d USING (deployment_id)
    WHERE w.idempotency_key NOT IN (SELECT idempotency_key FROM revenue.usage_event_reversals)
      AND w.metric IN (SELECT metric FROM staging.plan_version_charges) AND w.quantity >= 0
)
SELECT billing_period_start, deployment_id, metric, sum(quantity) FROM counted
WHERE billing_period_start >= $first AND billing_period_start < $last GROUP BY ALL ORDER BY ALL
"""
METERED = """
SELECT period_start, tenant_id, deployment_id, metric, quantity, late_quantity, event_count, duplicate_count
FROM revenue.metered_usage WHERE source = 'events' ORDER BY ALL
"""
INVOICED = """
SELECT billing_period_start, deployment_id, metric, sum(quantity) FROM (
    SELECT billing_period_start, deployment_id, metric, quantity FROM revenue.billable_usage WHERE source = 'events'
    UNION ALL
    SELECT billing_period_start, deployment_id, metric, quantity FROM revenue.unbilled_usage WHERE source = 'events')
GROUP BY ALL ORDER BY ALL
"""


def meter_sql(path, start: datetime, end: datetime) -> None:
    params = {"window_start": start, "window_end": end, "grace_hours": GRACE}
    with open_warehouse(str(path)) as conn, transaction(conn):
        run_sql(conn, "metering/metered_usage.sql", params)
        run_sql(conn, "metering/billable_usage.sql", params)


def assert_equal_to_full_dedup(env: Env, first: str, last: str) -> int:
    """Meter month by month, compare; meter the whole range at once, compare again. Returns events compared."""
    months = months_in(Period(parse_month(first).start, parse_month(last).end))
    bounds = [naive(m.start) for m in months] + [naive(months[-1].end)]
    oracle_params = {"first": bounds[0], "last": bounds[-1], "grace": GRACE}
    for by_month in (True, False):
        with open_warehouse(str(env.warehouse_path)) as conn:
            for table in ("metered_usage", "billable_usage", "unbilled_usage", "late_usage", "usage_rejections"):
                conn.execute(f"DELETE FROM revenue.{table}")
        if by_month:
            for start, end in zip(bounds, bounds[1:], strict=False):
                meter_sql(env.warehouse_path, start, end)
        else:
            meter_sql(env.warehouse_path, bounds[0], bounds[-1])
        with env.connect() as conn:
            assert conn.execute(METERED).fetchall() == conn.execute(ORACLE_METERED, oracle_params).fetchall()
            assert conn.execute(INVOICED).fetchall() == conn.execute(ORACLE_INVOICED, oracle_params).fetchall()
            counted = conn.execute("SELECT sum(event_count) FROM revenue.metered_usage WHERE source = 'events'"
                                   ).fetchone()[0]
    return counted


def test_the_demo_world_meters_as_a_full_dedup_would(env):
    env.materialize(SNAPSHOT)
    with env.connect() as conn:
        repeated = conn.execute("SELECT count(*) FROM staging.repeated_usage_keys").fetchone()[0]
    assert repeated > 0  # the sample world has retries: the index is exercised, not empty
    assert assert_equal_to_full_dedup(env, "2026-01", "2026-10") > 0


def test_a_generated_history_with_duplicates_spanning_months(env, world, tmp_path):
    """Four months of 25,000 events, 8% retries, a quarter of them repeating last month's event (late, or
    re-stamped into this month). Per-month metering reads one month; the answer is the full dedup's."""
    drop = tmp_path / "drop"
    for month_index in range(4):
        write_usage_events_parquet(drop / f"{month_index}.parquet", world, 25_000, month_start="2026-03-01",
                                   duplicate_rate=0.08, seed=16, month_index=month_index)
    resources = {**env.resources, "source_db": SourceDatabaseResource(
        url=env.resources["source_db"].url, usage_events_parquet=str(drop / "*.parquet"))}
    Env(env.root, resources).materialize(SNAPSHOT)
    with env.connect() as conn:
        spanning = conn.execute(
            "SELECT count(*) FROM staging.usage_events e JOIN staging.repeated_usage_keys k USING (idempotency_key) "
            "JOIN staging.usage_events w ON w.event_id = k.first_event_id "
            "WHERE date_trunc('month', e.received_at) <> date_trunc('month', w.received_at)").fetchone()[0]
    assert spanning > 200  # duplicates whose copies were received in different months
    assert assert_equal_to_full_dedup(env, "2026-03", "2026-07") > 90_000


@pytest.mark.parametrize("order", ["received", "reversed"])
def test_the_index_is_the_same_whatever_order_the_source_holds_events_in(tmp_path, order):
    """The first received copy wins by (received_at, event_id), not by the order rows arrive in."""
    path = tmp_path / "w.duckdb"
    with open_warehouse(str(path)) as conn, transaction(conn):
        rows = [("b", "k", "2026-04-01 00:00:02"), ("a", "k", "2026-04-01 00:00:02"), ("c", "k", "2026-04-01 00:00:01"),
                ("d", "solo", "2026-04-01 00:00:00")]
        for event_id, key, at in rows if order == "received" else reversed(rows):
            conn.execute("INSERT INTO staging.usage_events VALUES (?, ?, 'dep', 'api_requests', 1, ?, ?)",
                         [event_id, key, at, at])
        rebuild_key_index(conn)
    with duckdb.connect(str(path), read_only=True) as conn:
        assert conn.execute("SELECT * FROM staging.repeated_usage_keys").fetchall() == [("k", "c", 3)]
