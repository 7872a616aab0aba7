"""The books against a local server speaking the finance service's API (tests/fakes/finance_service.py):
a whole sample year lands once, re-runs change nothing, and faults heal without duplicates."""

from datetime import datetime

import dagster as dg
import jwt
import pytest

from billing_assets.books.finance_service import mint_token
from billing_assets.books.payloads import CostLine, Payable, payable_payload, tax_split
from billing_assets.ingest.parse import parse_invoice_csv
from tests.conftest import FINANCE_SECRET, finance_for, serve_finance
from tests.fakes.finance_service import PAYABLE, RECEIVABLE

BOOKS = ["books_payables", "books_receivables"]


@pytest.fixture
def finance_server():
    with serve_finance() as fake:
        yield fake


def test_the_seeds_april_bill_arrives_as_gross_8692_tax_790():
    """A 33-line DigitalOcean invoice of $86.92 whose GST lines sum to $7.90, parsed from its CSV as
    ingest does. By hand: 30 droplet lines of $2.50 (75.00) + one of $4.02 = 79.02 net; GST Australia
    (product Taxes) $3.95 + a GST adjustment (product Other, description names GST) $3.95 = 7.90 tax;
    79.02 + 7.90 = 86.92 gross. Both GST lines count: the product flag and the description each suffice."""
    header = "product,group_description,description,hours,start,end,USD,project_name,category\r\n"
    start, end = "2026-04-01 00:00:00 +0000", "2026-05-01 00:00:00 +0000"
    rows = [f"Droplets,,web-{i} (s-1vcpu-1gb),300,{start},{end},$2.50,acme,iaas\r\n" for i in range(30)]
    rows.append(f"Droplets,,api-1 (s-1vcpu-2gb),300,{start},{end},$4.02,acme,iaas\r\n")
    rows.append(f"Taxes,,GST Australia (10.00%),,{start},{end},$3.95,,iaas\r\n")
    rows.append(f"Other,,GST adjustment for March,,{start},{end},$3.95,,iaas\r\n")
    parsed = parse_invoice_csv((header + "".join(rows)).encode(), "april.csv", "inv-april")
    assert len(parsed) == 33
    lines = tuple(CostLine(line.line_number, line.product, line.description, line.amount_minor, line.is_tax,
                           None, None, None) for line in parsed)
    assert tax_split(lines) == (8692, 7902, 790)
    payload = payable_payload(Payable("inv-april", "1234567", datetime(2026, 4, 1), "USD", lines))
    assert (payload["gross_minor"], payload["net_minor"], payload["tax_minor"]) == (8692, 7902, 790)
    assert payload["vendor"] == {"name": "DigitalOcean", "category": "cloud"} and payload["period"] == "2026-04"


def test_the_token_is_short_lived_hs256_for_the_admin_identity():
    now = datetime(2026, 11, 21, 12, 0)
    claims = jwt.decode(mint_token(FINANCE_SECRET, now), FINANCE_SECRET, algorithms=["HS256"], options={"verify_exp": False})
    assert (claims["tenant"], claims["role"], claims["exp"] - claims["iat"]) == ("platform-admin", "admin", 300)


def test_a_whole_sample_year_lands_once_and_a_rerun_changes_nothing(closed_year, year_finance):
    env, fake = closed_year, year_finance
    with env.connect() as conn:
        bills = dict(conn.execute("SELECT invoice_uuid, sum(amount_minor) FROM ingest.do_cost_lines GROUP BY 1").fetchall())
        documents = dict(conn.execute("SELECT invoice_id, total_minor FROM revenue.tenant_invoices "
                                      "WHERE status <> 'draft'").fetchall())
        recorded = conn.execute("SELECT count(*), count(DISTINCT remote_id) FROM books.pushed_documents").fetchone()
    payables, receivables = fake.held("digitalocean"), fake.held("billing_assets")
    assert len(bills) == 10 and {k: p["gross_minor"] for k, p in payables.items()} == bills
    assert len(documents) >= 90 and {k: p["total_minor"] for k, p in receivables.items()} == documents
    assert recorded == (len(bills) + len(documents),) * 2
    checks = {c.check_name: c.passed for c in env.last_result.get_asset_check_evaluations()}
    assert checks["payables_in_books_once"] and checks["receivables_in_books_once"]
    posts = len(fake.posts)
    again = dg.materialize(list(env.defs.assets), selection=BOOKS, resources=env.resources, tags={
        "dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-10-01"})
    assert again.success  # the whole year again: the books skip it all
    assert len(fake.posts) == posts and len(fake.rows) == len(bills) + len(documents)
    with env.connect() as conn:
        last = conn.execute("SELECT action, count(*) FROM books.push_log WHERE logged_at = (SELECT max(logged_at) "
                            "FROM books.push_log) GROUP BY 1").fetchall()
    assert [action for action, _ in last] == ["skipped"]


def test_faults_heal_without_a_duplicate_and_a_restated_bill_is_updated(april_closed, finance_server):
    env, fake = april_closed, finance_server
    issue = env.defs.resolve_job_def("issue_invoices")
    assert issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": "2026-04"}}}}
                                    ).success
    env.resources["finance"] = finance_for(fake)
    fake.fail_before(RECEIVABLE, 503)  # heals on the retry
    fake.fail_before(RECEIVABLE, 429)
    fake.stall_after(PAYABLE, 2.5)  # stored, answer lost (client timeout 1 s): the retry finds it, "updated"
    result = env.materialize(BOOKS, partition_key="2026-04-01")
    assert all(c.passed for c in result.get_asset_check_evaluations())
    with env.connect() as conn:
        actions = dict(conn.execute("SELECT document_kind, list(action ORDER BY action) FROM books.push_log "
                                    "GROUP BY 1").fetchall())
        documents = conn.execute("SELECT count(*) FROM revenue.tenant_invoices WHERE status <> 'draft' AND "
                                 "period_start = '2026-04-01'").fetchone()[0]
    assert actions["payable"] == ["updated"]  # its first answer was lost, the row was already there
    assert len(fake.held("digitalocean")) == 1 and len(fake.held("billing_assets")) == documents == 9

    # DigitalOcean restates April (a line's description changes): pushed again, the same row updated.
    with open_writable(env) as conn:
        conn.execute("UPDATE ingest.do_cost_lines SET description = description || ' (restated)' "
                     "WHERE period_start = '2026-04-01' AND line_number = 1")
    env.materialize(["books_payables"], partition_key="2026-04-01")
    (held,) = fake.held("digitalocean").values()
    assert held["lines"][0]["description"].endswith("(restated)") and len(fake.held("digitalocean")) == 1


def test_a_wrong_secret_is_refused_in_one_line_and_records_nothing(april_closed, finance_server):
    env = april_closed
    env.resources["finance"] = finance_for(finance_server, secret="not-the-shared-secret-but-as-long-as-one")
    result = env.materialize(["books_payables"], partition_key="2026-04-01", raise_on_error=False)
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.user_failure_data
    assert "refused the token (401): check FINANCE_JWT_SECRET" in failure.description
    assert "not-the-shared-secret-but-as-long-as-one" not in failure.description
    with env.connect() as conn:
        assert conn.execute("SELECT count(*) FROM books.pushed_documents").fetchone()[0] == 0


def test_books_are_off_by_default_and_say_so(april_closed):
    result = april_closed.materialize(BOOKS, partition_key="2026-04-01")
    (payables,) = [m for m in result.get_asset_materialization_events() if m.asset_key.path == ["books_payables"]]
    assert payables.materialization.metadata["finance_target"].value == "none"
    assert "BILLING_FINANCE_TARGET=none" in payables.materialization.metadata["books"].value


def open_writable(env):
    from billing_assets.warehouse import open_warehouse

    return open_warehouse(str(env.warehouse_path))
