"""The data dictionary is the one source of column meanings: for readers, for the asset pages in
Dagster (dagster/column_schema) and for the comments analysts see in DuckDB. These tests fail when a
warehouse column has no meaning in docs/data-dictionary.md."""

import duckdb

from billing_assets.assets_common import table_schema
from billing_assets.margin.analyst_copy import ANALYST_COPY
from billing_assets.warehouse import apply_migrations
from billing_assets.warehouse.dictionary import data_dictionary, parse

PERSISTENT_COLUMNS = """
SELECT c.schema_name || '.' || c.table_name, c.column_name
FROM duckdb_columns() c
LEFT JOIN duckdb_views() v ON v.schema_name = c.schema_name AND v.view_name = c.table_name
WHERE c.database_name = current_database() AND NOT coalesce(v.temporary, false)
ORDER BY ALL
"""


def undocumented(conn) -> list[str]:
    docs = data_dictionary()
    missing = []
    for table, column in conn.execute(PERSISTENT_COLUMNS).fetchall():
        doc = docs.get(table)
        if doc is None or not doc.description:
            missing.append(f"{table} (no section with a description)")
        elif not doc.columns.get(column):
            missing.append(f"{table}.{column}")
    return sorted(set(missing))


def test_every_column_of_a_migrated_warehouse_has_a_meaning(tmp_path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as conn:
        apply_migrations(conn)
        assert conn.execute(PERSISTENT_COLUMNS).fetchall()
        assert undocumented(conn) == []


def test_after_a_month_close_every_table_is_documented_and_no_scratch_view_is_left(april_closed):
    """Run-time objects count too: do_cost_lines once left its staging views in `main` (migration 0018)."""
    with april_closed.connect() as conn:
        assert undocumented(conn) == []
        assert conn.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal"
                            ).fetchone()[0] == 0


def test_asset_pages_and_the_analysts_copy_carry_the_dictionarys_words(april_closed):
    meaning = data_dictionary()["revenue.tenant_invoices"].columns["status"]
    with april_closed.connect() as conn:
        columns = {c.name: c.description for c in table_schema(conn, "revenue.tenant_invoices").columns}
    assert columns["status"] == meaning and all(columns.values())
    copy = april_closed.root / "exports" / ANALYST_COPY
    with duckdb.connect(str(copy), read_only=True) as conn:
        view_comment = conn.execute("SELECT comment FROM duckdb_views() WHERE schema_name = 'marts' "
                                    "AND view_name = 'deployment_margin'").fetchone()[0]
        uncommented = conn.execute("SELECT count(*) FROM duckdb_columns() WHERE database_name = current_database() "
                                   "AND comment IS NULL").fetchone()[0]
        status = conn.execute("SELECT comment FROM duckdb_columns() WHERE schema_name = 'marts' AND "
                              "table_name = 'tenant_invoices' AND column_name = 'status'").fetchone()[0]
    assert view_comment == data_dictionary()["margin.deployment_margin"].description
    assert status == meaning and uncommented == 0


def test_the_documents_conventions():
    docs = parse("""# Dictionary
## Source contract (the operational database)
### plans, add_ons
The catalogue.

| table.column | type | meaning |
|---|---|---|
| plans.plan_id / code | | a plan |
| add_ons.(add_on_id, code) | PK | an add-on's key |

## Warehouse
### revenue.payments (append-only; view marts.payments)
A row per payment.
Second line of the same paragraph.

Not the description.

| column | meaning |
|---|---|
| payment_id PK | the payment |
| `amount_minor`, currency | how much |

### marts.open_payments
Unpaid ones. Same columns as `revenue.payments`.

| column | meaning |
|---|---|
| currency | overridden |
""")
    assert docs["staging.plans"].columns == {"plan_id": "a plan", "code": "a plan"}
    assert docs["staging.add_ons"].columns == {"add_on_id": "an add-on's key", "code": "an add-on's key"}
    assert docs["staging.plans"].description == "The catalogue."
    assert docs["revenue.payments"].description == "A row per payment. Second line of the same paragraph."
    assert docs["marts.payments"].columns == docs["revenue.payments"].columns == {
        "payment_id": "the payment", "amount_minor": "how much", "currency": "how much"}
    assert docs["marts.open_payments"].columns == {"payment_id": "the payment", "amount_minor": "how much",
                                                   "currency": "overridden"}
