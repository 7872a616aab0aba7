"""Bad source rows are refused by name before they can touch an invoice: each case below corrupts one
row of the sample world's SQLite source (check constraints off, as a buggy platform would write it),
and the April close must list the exact refusal (table, column, reason) with the tenant it affects,
leave that tenant uninvoiced with the reason stated, and invoice every other tenant exactly as the
clean world does."""

from __future__ import annotations

import sqlite3

import pytest

from tests.conftest import Env, copy_world

CLOSE = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
         "source_cloud_resources", "source_usage_events", "metered_usage", "tenant_invoices", "tenant_invoice_lines"]
ACME_SUB = "(SELECT subscription_id FROM subscriptions JOIN deployments USING (deployment_id) WHERE slug = 'acme-studio')"
ACME_DEP = "(SELECT deployment_id FROM deployments WHERE slug = 'acme-studio')"
ACME_VERSION = f"(SELECT plan_version_id FROM subscription_phases WHERE subscription_id = {ACME_SUB} LIMIT 1)"
ACME = "(SELECT tenant_id FROM tenants WHERE slug = 'acme')"
EVENT = f"(SELECT event_id FROM usage_events WHERE deployment_id = {ACME_DEP} AND occurred_at LIKE '2026-04-1%' " \
        "ORDER BY event_id LIMIT 1)"
NEW_EVENT = "INSERT INTO usage_events VALUES ('bad-1', 'bad-key-1', {dep}, 'api_requests', {quantity}, {occurred}, " \
            "'2026-04-20 10:00:00')"

# case -> (corrupting SQL, (table, column, reason fragment))
CASES = {
    "unit price -1": (f"UPDATE plan_version_charges SET unit_amount_decimal = '-1' WHERE plan_version_id = {ACME_VERSION} "
                      "AND metric = 'droplet_hours'",
                      ("plan_version_charges", "unit_amount_decimal", "not an exact non-negative decimal")),
    "unit price abc": (f"UPDATE plan_version_charges SET unit_amount_decimal = 'abc' WHERE plan_version_id = {ACME_VERSION} "
                       "AND metric = 'droplet_hours'",
                       ("plan_version_charges", "unit_amount_decimal", "not an exact non-negative decimal")),
    "unit price NaN": (f"UPDATE plan_version_charges SET unit_amount_decimal = 'NaN' WHERE plan_version_id = {ACME_VERSION} "
                       "AND metric = 'droplet_hours'",
                       ("plan_version_charges", "unit_amount_decimal", "not an exact non-negative decimal")),
    "tier price negative": (f"UPDATE plan_version_charge_tiers SET unit_amount_decimal = '-0.5' WHERE plan_version_id = "
                            f"{ACME_VERSION} AND tier_index = 0",
                            ("plan_version_charge_tiers", "unit_amount_decimal", "not an exact non-negative decimal")),
    "tiers out of order": (f"UPDATE plan_version_charge_tiers SET up_to = 1 WHERE plan_version_id = {ACME_VERSION} "
                           "AND tier_index = 1",
                           ("plan_version_charges", "tiers", "tiers must ascend")),
    "volume charge without tiers": (f"DELETE FROM plan_version_charge_tiers WHERE plan_version_id = {ACME_VERSION}",
                                    ("plan_version_charges", "charge_model", "volume needs tiers")),
    "add-on quantity -2": (f"UPDATE subscription_add_ons SET quantity = -2 WHERE subscription_id = {ACME_SUB}",
                           ("subscription_add_ons", "quantity", "must be > 0")),
    "add-on quantity 1.5": (f"UPDATE subscription_add_ons SET quantity = 1.5 WHERE subscription_id = {ACME_SUB}",
                            ("subscription_add_ons", "quantity", "not a whole number")),
    "canceled before it started": (f"UPDATE subscriptions SET canceled_at = '2020-01-01 00:00:00' WHERE subscription_id "
                                   f"= {ACME_SUB}", ("subscriptions", "canceled_at", "canceled before it started")),
    "started_at not a timestamp": (f"UPDATE subscriptions SET started_at = 'last tuesday' WHERE subscription_id = {ACME_SUB}",
                                   ("subscriptions", "started_at", "not a timestamp")),
    "phase ends before it starts": (f"UPDATE subscription_phases SET effective_to = '2020-01-01 00:00:00' WHERE "
                                    f"subscription_id = {ACME_SUB}",
                                    ("subscription_phases", "effective_to", "phase ends before it starts")),
    "a phase starting while the last one is open-ended": (
        f"INSERT INTO subscription_phases SELECT subscription_id, plan_version_id, '2026-04-20 00:00:00', NULL FROM "
        f"subscription_phases WHERE subscription_id = {ACME_SUB}",
        ("subscription_phases", "effective_from", "starts while the phase before it is open-ended")),
    "the last phase ending before the subscription": (
        f"UPDATE subscription_phases SET effective_to = '2026-04-10 00:00:00' WHERE subscription_id = {ACME_SUB}",
        ("subscription_phases", "effective_to", "the last phase ends before the subscription does")),
    "a subscription without phases": (f"DELETE FROM subscription_phases WHERE subscription_id = {ACME_SUB}",
                                      ("subscriptions", "subscription_id", "has no plan phases")),
    "credit grant expires before it starts": (
        "INSERT INTO credit_grants VALUES ('bad-grant', " + ACME + ", 'promotional', 500, 'USD', '2026-04-10 00:00:00', "
        "'2026-04-01 00:00:00', NULL, 'oops', 'ops@platform.test')",
        ("credit_grants", "expires_at", "expires before it takes effect")),
    "unknown tax jurisdiction": ("UPDATE tenants SET tax_jurisdiction = 'XX' WHERE slug = 'acme'",
                                 ("tenants", "tax_jurisdiction", "no tax rule")),
    "unknown currency": ("UPDATE tenants SET currency = 'ABC' WHERE slug = 'acme'",
                         ("tenants", "currency", "unknown currency")),
    "tenant created_at empty": ("UPDATE tenants SET created_at = '' WHERE slug = 'acme'",
                                ("tenants", "created_at", "not a timestamp")),
    "resource deleted before created": (f"UPDATE cloud_resources SET deleted_at = '2020-01-01 00:00:00' WHERE "
                                        f"deployment_id = {ACME_DEP}",
                                        ("cloud_resources", "deleted_at", "deleted before it was created")),
    "event time as epoch seconds": (f"UPDATE usage_events SET occurred_at = '1776000000' WHERE event_id = {EVENT}",
                                    ("usage_events", "occurred_at", "not a timestamp")),
    "event time malformed": (f"UPDATE usage_events SET occurred_at = '2026-04-31 10:00:00' WHERE event_id = {EVENT}",
                             ("usage_events", "occurred_at", "not a valid date and time")),
    "event quantity 2.5": (NEW_EVENT.format(dep=ACME_DEP, quantity="2.5", occurred="'2026-04-20 09:00:00'"),
                           ("usage_events", "quantity", "not a whole number")),
    "event quantity empty": (f"UPDATE usage_events SET quantity = '' WHERE event_id = {EVENT}",
                             ("usage_events", "quantity", "not a whole number")),
    "event quantity 2^62": (NEW_EVENT.format(dep=ACME_DEP, quantity=str(2 ** 62), occurred="'2026-04-20 09:00:00'"),
                            ("usage_events", "quantity", "implausibly large")),
    "one key, two quantities": (
        f"INSERT INTO usage_events SELECT 'conflict-1', idempotency_key, deployment_id, metric, quantity + 1, occurred_at, "
        f"received_at FROM usage_events WHERE event_id = {EVENT}",
        ("usage_events", "idempotency_key", "conflicting duplicate")),
}


def documents(env: Env) -> dict[str, tuple]:
    with env.connect() as conn:
        return {slug: row for slug, *row in conn.execute(
            "SELECT t.slug, i.invoice_number, i.subtotal_minor, i.tax_minor, i.total_minor, i.content_sha256 "
            "FROM revenue.tenant_invoices i JOIN staging.tenants t USING (tenant_id) "
            "WHERE i.period_start = '2026-04-01'").fetchall()}


@pytest.fixture(scope="module")
def clean_april(tmp_path_factory, world_template) -> dict[str, tuple]:
    env = copy_world(world_template, tmp_path_factory.mktemp("clean"))
    env.materialize(CLOSE, partition_key="2026-04-01")
    return documents(env)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_bad_source_row_is_refused_by_name_and_touches_no_other_invoice(case, tmp_path, world_template,
                                                                          clean_april):
    corrupt, (table, column, reason) = case
    env = copy_world(world_template, tmp_path)
    with sqlite3.connect(env.root / "source.sqlite") as conn:
        conn.execute("PRAGMA ignore_check_constraints = ON")
        assert conn.execute(corrupt).rowcount >= 1, "the corruption must hit a row"
    result = env.materialize(CLOSE, partition_key="2026-04-01", raise_on_error=False)
    assert result.success  # a bad row never stops the month for everybody
    with env.connect() as conn:
        refused = conn.execute(
            "SELECT r.table_name, r.column_name, r.reason, t.slug FROM staging.source_rejections r "
            "LEFT JOIN (SELECT tenant_id, slug FROM staging.tenants UNION ALL "
            "           SELECT tenant_id, 'acme' FROM staging.source_rejections WHERE table_name = 'tenants') t "
            "USING (tenant_id)").fetchall()
        exclusion = conn.execute(
            "SELECT reason FROM revenue.invoice_exclusions e JOIN staging.subscriptions s USING (subscription_id) "
            "WHERE e.period_start = '2026-04-01' AND s.subscription_id IN (SELECT subscription_id FROM "
            "staging.subscriptions JOIN staging.deployments USING (deployment_id) WHERE slug = 'acme-studio')").fetchall()
    assert [(t, c) for t, c, r, s in refused if reason in r] == [(table, column)] * len(
        [r for r in refused if reason in r[2]]) and any(reason in r for _, _, r, _ in refused), refused
    affected = {s for _, _, r, s in refused if reason in r}
    assert "acme" in affected
    after = documents(env)
    assert "acme" not in after  # not invoiced on partial inputs...
    if exclusion:  # ...and, where its subscription is still known, excluded with the reason stated
        assert all(r.startswith("source rows refused (staging.source_rejections)") for r, in exclusion)
    assert {slug: doc for slug, doc in after.items() if slug not in affected} == {
        slug: doc for slug, doc in clean_april.items() if slug not in affected}
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    name = "usage_events_valid" if table == "usage_events" else "source_rows_valid"
    assert not checks[name].passed and reason in checks[name].metadata["details"].value


def test_an_offset_is_converted_to_utc_not_dropped(tmp_path, world_template, clean_april):
    """23:30 on Apr 30 at +02:00 is 21:30 UTC: April usage (dropping the offset would still be April;
    00:30 on May 1 at +02:00 is 22:30 UTC on Apr 30, April, where dropping the offset would say May)."""
    env = copy_world(world_template, tmp_path)
    with sqlite3.connect(env.root / "source.sqlite") as conn:
        conn.execute(NEW_EVENT.format(dep=ACME_DEP, quantity="500", occurred="'2026-05-01 00:30:00+02:00'"))
    env.materialize(CLOSE, partition_key="2026-04-01")
    with env.connect() as conn:
        stored = conn.execute("SELECT occurred_at FROM staging.usage_events WHERE event_id = 'bad-1'").fetchone()[0]
        assert not conn.execute("SELECT count(*) FROM staging.source_rejections").fetchone()[0]
    assert str(stored) == "2026-04-30 22:30:00"
    # acme's April api_requests: the plan's api_requests charge includes far more than 500, so the total
    # is unchanged, but the event is April's: it is in April's billable usage.
    with env.connect() as conn:
        april = conn.execute("SELECT sum(quantity) FROM revenue.billable_usage WHERE usage_period_start = '2026-04-01' "
                             "AND metric = 'api_requests' AND deployment_id = (SELECT deployment_id FROM "
                             "staging.deployments WHERE slug = 'acme-studio')").fetchone()[0]
    assert april is not None and april >= 500


def test_a_missing_required_value_is_refused_as_missing():
    """SQLite's NOT NULL keeps NULLs out of the sample source, but a Parquet drop or another database may
    carry them: typed straight from a landing table, a NULL quantity is refused as missing."""
    import duckdb

    from billing_assets.source import validation
    from billing_assets.warehouse import apply_migrations

    conn = duckdb.connect()
    apply_migrations(conn)
    validation.start(conn, validation.Limits())
    conn.execute("CREATE TEMP TABLE landed AS SELECT 'e-1' AS event_id, 'k-1' AS idempotency_key, "
                 "'d-1' AS deployment_id, 'api_requests' AS metric, CAST(NULL AS VARCHAR) AS quantity, "
                 "'2026-04-01 00:00:00' AS occurred_at, '2026-04-01 00:00:01' AS received_at")
    validation.type_rows(conn, "usage_events", "landed")
    assert conn.execute("SELECT * FROM rejections").fetchall() == [
        ("usage_events", "e-1", "quantity", None, "missing (the column is required)")]


def _landing(values: list[str | None]):
    """A DuckDB with the warehouse schema and one text landing table of usage events whose occurred_at
    takes each value in turn (everything else valid)."""
    import duckdb

    from billing_assets.source import validation
    from billing_assets.warehouse import apply_migrations

    conn = duckdb.connect()
    conn.execute("SET TimeZone = 'UTC'")
    apply_migrations(conn)
    validation.start(conn, validation.Limits())
    conn.execute("CREATE TEMP TABLE landed AS SELECT 'e-' || i AS event_id, 'k-' || i AS idempotency_key, "
                 "'d-1' AS deployment_id, 'api_requests' AS metric, '1' AS quantity, v AS occurred_at, "
                 "'2026-05-01 00:00:00' AS received_at FROM unnest(?) WITH ORDINALITY AS t(v, i)", [values])
    validation.type_rows(conn, "usage_events", "landed")
    return conn


def test_naive_text_typed_by_the_plain_cast_equals_the_utc_route():
    """Naive text takes a plain TIMESTAMP cast, text with an offset the TIMESTAMPTZ route: for naive text
    both must give the same instant under UTC. 5,000 random naive strings (valid and impossible dates,
    24:00, leap days, 0-9 fractional digits, 'T' or space) are typed by the snapshot and, independently,
    by the TIMESTAMPTZ route; every one agrees, and each NULL is refused as not a valid date and time."""
    import random

    rng = random.Random(16)
    values = []
    for _ in range(5_000):
        fraction = "" if rng.random() < 0.5 else "." + "".join(rng.choices("0123456789", k=rng.randint(1, 9)))
        values.append(f"{rng.randint(1, 9999):04d}-{rng.randint(0, 13):02d}-{rng.randint(0, 32):02d}"
                      f"{rng.choice(' T')}{rng.randint(0, 24):02d}:{rng.randint(0, 60):02d}:{rng.randint(0, 60):02d}"
                      f"{fraction}")
    conn = _landing(values)
    disagreeing = conn.execute(
        "SELECT l.occurred_at, t.occurred_at FROM landed l JOIN typed_usage_events t USING (event_id) "
        "WHERE t.occurred_at IS DISTINCT FROM TRY_CAST(TRY_CAST(l.occurred_at AS TIMESTAMPTZ) AS TIMESTAMP)").fetchall()
    assert disagreeing == []
    typed, invalid = conn.execute("SELECT count(occurred_at), count(*) - count(occurred_at) FROM typed_usage_events"
                                  ).fetchone()
    assert typed > 1_000 and invalid > 1_000  # both kinds were generated
    assert conn.execute("SELECT count(*), count(DISTINCT reason) FROM rejections").fetchone() == (invalid, 1)
    assert conn.execute("SELECT DISTINCT reason FROM rejections").fetchone()[0] == "not a valid date and time"


def test_each_timestamp_form_is_typed_or_refused_with_its_reason():
    """Hand-written: what each form of occurred_at becomes (UTC wall time) or why it is refused."""
    shape = ("not a timestamp: write naive UTC (2026-04-30 23:00:00) or with an explicit offset "
             "(2026-04-30 23:00:00+02:00)")
    cases = {
        "2026-04-30 23:00:00": "2026-04-30 23:00:00",
        " 2026-04-30T23:00:00 ": "2026-04-30 23:00:00",         # trimmed; T or space
        "2026-04-30 23:00:00Z": "2026-04-30 23:00:00",
        "2026-05-01 00:30:00+02:00": "2026-04-30 22:30:00",     # two hours east of UTC
        "2026-04-30 23:00:00-0530": "2026-05-01 04:30:00",
        "2026-04-30 23:00:00.1234567": "2026-04-30 23:00:00.123456",  # microseconds kept, the rest cut
        "2026-04-30 24:00:00": "2026-05-01 00:00:00",           # 24:00 is the next midnight
        "2026-02-29 00:00:00": "not a valid date and time",     # 2026 is not a leap year
        "2026-04-30 23:60:00": "not a valid date and time",
        "2026-4-30 23:00:00": shape,                            # the contract wants two-digit months
        "1793000000": shape,                                    # an epoch is never guessed
        "2026-04-30": shape,
        None: "missing (the column is required)",
    }
    conn = _landing(list(cases))
    found = dict(conn.execute(
        "SELECT l.occurred_at, coalesce(CAST(t.occurred_at AS VARCHAR), r.reason) FROM landed l "
        "JOIN typed_usage_events t USING (event_id) LEFT JOIN rejections r ON r.primary_key = l.event_id").fetchall())
    assert found == cases
