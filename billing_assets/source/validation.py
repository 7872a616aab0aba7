"""Every source row is typed and checked before it can reach staging, and so an invoice.

The source is read as text (`CAST(column AS TEXT)`), so what the platform holds is what we judge:
a timestamp is naive UTC or carries an explicit offset (converted to UTC), never an epoch integer
or a guess; a whole number is written as one (2.5 is refused, not rounded); a missing required value
is refused. Where a column already arrives with the contract's type (a Parquet drop's timestamps and
integers; PostgreSQL columns declared so, see reader.natively_typed_columns), its type is the guarantee:
only NULLs and range are checked, without the text round trip. Rules about meaning (prices exact,
finite and >= 0, known currencies and tax jurisdictions, ascending tiers with one unbounded last tier,
ordered date ranges, positive add-on quantities, plausibility bounds, conflicting duplicates) live in
sql/source/rules_*.sql. A refused row is kept out of staging and listed in staging.source_rejections
with its table, primary key, column, value, reason and the tenant it affects; everything else is
written, and invoicing leaves out the tenants named there (never invoicing a tenant partially).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from billing_assets.money import CURRENCY_EXPONENTS
from billing_assets.sql_files import read_sql
from billing_assets.tax import TAX_RATES

PRIMARY_KEYS: dict[str, tuple[str, ...]] = {
    "tenants": ("tenant_id",), "tenant_budgets": ("tenant_id",), "deployments": ("deployment_id",), "plans": ("plan_id",),
    "plan_versions": ("plan_version_id",), "plan_version_charges": ("plan_version_id", "metric"),
    "plan_version_charge_tiers": ("plan_version_id", "metric", "tier_index"), "add_ons": ("add_on_id",),
    "subscriptions": ("subscription_id",), "subscription_phases": ("subscription_id", "effective_from"),
    "subscription_add_ons": ("subscription_add_on_id",), "credit_grants": ("credit_grant_id",),
    "cloud_resources": ("resource_id",), "usage_events": ("event_id",),
}
NAIVE_TIMESTAMP_TEXT = r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,9})?"
TIMESTAMP_TEXT = NAIVE_TIMESTAMP_TEXT + r"(Z|[+-]\d{2}(:?\d{2})?)?"
TYPED_PREFIX = "__typed__"  # the inner typing SELECT's column names; no contract column starts so
INTEGER_TEXT = r"-?\d{1,19}"
BOOLEAN_TEXT = ("true", "false", "t", "f", "1", "0")
# Staged in arrival order, so a month's metering skips whole row groups by their received_at/occurred_at
# ranges (DuckDB's zone maps) instead of reading every month of history.
STAGING_ORDER = {"usage_events": "received_at"}


@dataclass(frozen=True)
class Limits:
    """Plausibility bounds: a value beyond them is refused as implausible rather than billed."""

    max_event_quantity: int = 10 ** 12
    max_price_minor: int = 10 ** 11


DEFAULT_LIMITS = Limits()


def _columns(conn, table: str) -> list[tuple[str, str, bool]]:
    return conn.execute(
        "SELECT column_name, data_type, is_nullable = 'YES' FROM information_schema.columns "
        "WHERE table_schema = 'staging' AND table_name = ? ORDER BY ordinal_position", [table]).fetchall()


TYPED_ARRIVALS = {  # contract type -> the arriving types that already guarantee it
    "TIMESTAMP": ("TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"),
    "BIGINT": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"),
    "INTEGER": ("BIGINT", "INTEGER", "SMALLINT", "TINYINT", "UBIGINT", "UINTEGER", "USMALLINT", "UTINYINT"),
    "BOOLEAN": ("BOOLEAN",),
}


def _arrives_typed(data_type: str, arriving: str) -> bool:
    return arriving in TYPED_ARRIVALS.get(data_type, ())


def _typed(column: str, data_type: str, arriving: str = "VARCHAR") -> str:
    """SQL typing one landed value, NULL when it cannot be typed. Naive text takes a plain TIMESTAMP cast
    (equal to the TIMESTAMPTZ route under the session's UTC, tested; about a fifth of its cost); only text
    with an offset goes through TIMESTAMPTZ and is converted to UTC wall time."""
    quoted = f'"{column}"'
    if _arrives_typed(data_type, arriving):  # TIMESTAMPTZ -> UTC wall time: the session's TimeZone is UTC
        return f"TRY_CAST({quoted} AS {data_type})"
    if data_type.startswith("TIMESTAMP"):
        return (f"CASE WHEN regexp_full_match(trim({quoted}), '{NAIVE_TIMESTAMP_TEXT}') THEN "
                f"TRY_CAST(trim({quoted}) AS TIMESTAMP) "
                f"WHEN regexp_full_match(trim({quoted}), '{TIMESTAMP_TEXT}') THEN "
                f"TRY_CAST(TRY_CAST(trim({quoted}) AS TIMESTAMPTZ) AS TIMESTAMP) END")
    if data_type in ("BIGINT", "INTEGER"):
        return f"CASE WHEN regexp_full_match(trim({quoted}), '{INTEGER_TEXT}') THEN TRY_CAST(trim({quoted}) AS {data_type}) END"
    if data_type == "BOOLEAN":
        return f"lower(trim({quoted})) IN ('true', 't', '1')"
    return quoted


def _problem(column: str, data_type: str, nullable: bool, arriving: str = "VARCHAR") -> str:
    """SQL giving the reason a landed value cannot be typed, or NULL when it can. `typed` names the value
    already typed by _typed, so a good value (nearly all of them) costs a NULL test, not a second parse."""
    quoted, typed = f'"{column}"', f'"{TYPED_PREFIX}{column}"'
    missing = "NULL" if nullable else "'missing (the column is required)'"
    if _arrives_typed(data_type, arriving):
        bad = f"WHEN {typed} IS NULL THEN 'out of range for {data_type}'"
    elif data_type.startswith("TIMESTAMP"):
        shape = ("'not a timestamp: write naive UTC (2026-04-30 23:00:00) or with an explicit offset "
                 "(2026-04-30 23:00:00+02:00)'")
        bad = f"WHEN {typed} IS NOT NULL THEN NULL WHEN NOT regexp_full_match(trim({quoted}), '{TIMESTAMP_TEXT}') " \
              f"THEN {shape} ELSE 'not a valid date and time'"
    elif data_type in ("BIGINT", "INTEGER"):
        bad = f"WHEN {typed} IS NOT NULL THEN NULL WHEN NOT regexp_full_match(trim({quoted}), '{INTEGER_TEXT}') " \
              f"THEN 'not a whole number' ELSE 'out of range for {data_type}'"
    elif data_type == "BOOLEAN":
        bad = f"WHEN lower(trim({quoted})) NOT IN {BOOLEAN_TEXT} THEN 'not true or false'"
    else:
        bad = f"WHEN trim({quoted}) = '' AND NOT {str(nullable).upper()} THEN 'missing (empty)'"
    return f"CASE WHEN {quoted} IS NULL THEN {missing} {bad} END"


def type_rows(conn, table: str, relation: str, params: dict | None = None) -> None:
    """The rows of `relation` (the source as it arrives) typed into typed_<table> in one pass, each with
    the list of its values that cannot be typed; those become format rejections. A column that arrives
    as text (or untyped) goes through the text rules; one that arrives with the contract's type skips them.
    Each value is typed once (the inner SELECT); its problem, if any, is judged from the typed value."""
    columns = _columns(conn, table)
    arriving = {name: kind for name, kind, *_ in conn.execute(
        f"DESCRIBE SELECT * FROM {relation}", params or {}).fetchall()}  # noqa: S608 - our own relation
    kinds = {c: arriving[c] if _arrives_typed(t, arriving.get(c, "")) else "VARCHAR" for c, t, _ in columns}
    landed = ", ".join(f'"{c}"' if kinds[c] != "VARCHAR" else f'CAST("{c}" AS VARCHAR) AS "{c}"'
                       for c, _, _ in columns)  # all-NULL columns arrive untyped: read as text
    pk = " || '/' || ".join(f"coalesce(CAST(\"{c}\" AS VARCHAR), '∅')" for c in PRIMARY_KEYS[table])
    typing = ", ".join(f'{_typed(c, t, kinds[c])} AS "{TYPED_PREFIX}{c}"' for c, t, _ in columns)
    typed = ", ".join(f'"{TYPED_PREFIX}{c}" AS "{c}"' for c, _, _ in columns)
    reasons = {c: _problem(c, t, n, kinds[c]) for c, t, n in columns}
    problems = ", ".join(f"{{'column_name': '{c}', 'value': CAST(\"{c}\" AS VARCHAR), 'reason': {reason}}}"
                         for c, reason in reasons.items())
    # the list of problems is built only for a row that has one (most have none: building it costs)
    conn.execute(f"CREATE OR REPLACE TEMP TABLE typed_{table} AS SELECT {pk} AS _pk, {typed}, "  # noqa: S608
                 f"CASE WHEN coalesce({', '.join(reasons.values())}) IS NOT NULL THEN "
                 f"list_filter([{problems}], lambda p: p.reason IS NOT NULL) ELSE [] END AS _problems "
                 f"FROM (SELECT *, {typing} FROM (SELECT {landed} FROM {relation}))", params or {})
    conn.execute(f"INSERT INTO rejections SELECT '{table}', _pk, p.column_name, p.value, p.reason "  # noqa: S608
                 f"FROM (SELECT _pk, unnest(_problems) AS p FROM typed_{table} WHERE len(_problems) > 0)")


def start(conn, limits: Limits) -> None:
    """The run's working tables: rejections found so far, the reference vocabularies, the limits."""
    conn.execute("CREATE OR REPLACE TEMP TABLE rejections (table_name VARCHAR, primary_key VARCHAR, "
                 "column_name VARCHAR, value VARCHAR, reason VARCHAR)")
    conn.execute("CREATE OR REPLACE TEMP TABLE known_currencies AS SELECT unnest(?) AS currency",
                 [sorted(CURRENCY_EXPONENTS)])
    conn.execute("CREATE OR REPLACE TEMP TABLE known_jurisdictions AS SELECT unnest(?) AS jurisdiction",
                 [sorted({r.jurisdiction for r in TAX_RATES})])
    conn.execute("CREATE OR REPLACE TEMP TABLE limits AS SELECT ? AS max_event_quantity, ? AS max_price_minor",
                 [limits.max_event_quantity, limits.max_price_minor])


def apply_rules(conn, rules: str) -> None:
    """The rules of meaning (sql/source/rules_*.sql) over the typed tables, added to the rejections."""
    conn.execute(f"INSERT INTO rejections {read_sql(rules)}")


def write_staging(conn, tables: tuple[str, ...], snapshot_at, tenants_of: str,
                  received_since: datetime | None = None) -> dict[str, int]:
    """Replace each staging table with its typed rows less the refused ones; record the refusals with
    the tenant they affect (`tenants_of`: the SQL mapping a refused row to tenants). Returns rows staged
    per table. With `received_since` (the incremental usage snapshot, source/incremental.py) the staged
    usage events received before it are kept and only the rest is replaced. The caller owns the transaction."""
    if received_since is not None and tables != ("usage_events",):
        raise ValueError(f"only usage_events is replaced from a cut-off, not {tables}")
    written = {}
    for table in tables:
        columns = ", ".join(f'"{c}"' for c, _, _ in _columns(conn, table))
        if received_since is None:
            conn.execute(f"DELETE FROM staging.{table}")  # noqa: S608
        else:
            conn.execute(f"DELETE FROM staging.{table} WHERE received_at >= ?", [received_since])  # noqa: S608
        order = f"ORDER BY {STAGING_ORDER[table]}" if table in STAGING_ORDER else ""
        conn.execute(f"INSERT INTO staging.{table} ({columns}) SELECT {columns} FROM typed_{table} "  # noqa: S608
                     f"ANTI JOIN (SELECT primary_key FROM rejections WHERE table_name = ?) r ON r.primary_key = _pk "
                     f"{order}", [table])
        written[table] = conn.execute(f"SELECT count(*) FROM staging.{table}").fetchone()[0]  # noqa: S608
    conn.execute("DELETE FROM staging.source_rejections WHERE list_contains(?, table_name)", [list(tables)])
    # one row per refused value and tenant it affects (a catalogue row affects every tenant on it)
    conn.execute(f"INSERT INTO staging.source_rejections SELECT ?, r.*, t.tenant_id FROM rejections r "  # noqa: S608
                 f"LEFT JOIN ({read_sql(tenants_of)}) t USING (table_name, primary_key)",
                 [snapshot_at])
    return written
