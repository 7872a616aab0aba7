"""Stripe push and collection against a local server speaking Stripe's wire format; reversals with
an audit trail; the double-entry journal."""


import dagster as dg

from billing_assets.cli import main as cli_main
from billing_assets.sample_world import stable_id

ACME = stable_id("tenant", "acme")
STRIPE = ["stripe_invoices", "stripe_payments", "ledger_entries"]


def run_job(env, name, config, op):
    return env.defs.resolve_job_def(name).execute_in_process(run_config={"ops": {op: {"config": config}}},
                                                             raise_on_error=False)


def stripe_state(env):
    with env.connect() as conn:
        return conn.execute("SELECT i.tenant_id, i.total_minor, s.stripe_object_id FROM revenue.tenant_invoices i "
                            "LEFT JOIN revenue.stripe_documents s USING (invoice_id) ORDER BY 1").fetchall()


def test_push_is_exactly_once_even_when_the_connection_drops_mid_push(issued, fake_stripe):
    fake_stripe.stall_after(r"/v1/invoiceitems", 2.0)      # the 1st item is created, its answer lost
    fake_stripe.stall_after(r"/v1/invoices/in_\w+/finalize", 2.0)
    result = issued.materialize(STRIPE)
    assert all(c.passed for c in result.get_asset_check_evaluations())
    state = stripe_state(issued)
    assert len(state) == 9 and all(stripe_id for _, _, stripe_id in state)
    assert len(fake_stripe.objects["invoice"]) == 9 and len(fake_stripe.objects["customer"]) == 9
    for tenant_id, total, stripe_id in state:
        assert fake_stripe.objects["invoice"][stripe_id]["total"] == total, tenant_id
    assert not fake_stripe.posts_without_key
    items = len(fake_stripe.objects["invoiceitem"])
    again = issued.materialize(STRIPE)  # a re-run pushes nothing new
    pushed = next(m for m in again.get_asset_materialization_events()
                  if m.asset_key == dg.AssetKey("stripe_invoices")).materialization.metadata["pushed"].value
    assert pushed == 0 and len(fake_stripe.objects["invoice"]) == 9 and len(fake_stripe.objects["invoiceitem"]) == items


def test_payments_are_pulled_and_the_journal_balances(issued, fake_stripe, monkeypatch, capsys):
    issued.materialize(STRIPE)
    acme_invoice = next(s for t, _, s in stripe_state(issued) if t == ACME)
    fake_stripe.pay(acme_invoice)
    result = issued.materialize(STRIPE)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["transactions_balance"].passed and checks["receivables_match_stripe"].passed
    assert checks["no_payment_drift"].passed
    with issued.connect() as conn:
        status = conn.execute("SELECT status FROM revenue.tenant_invoices WHERE tenant_id = ?", [ACME]).fetchone()[0]
        payment = conn.execute("SELECT payment_id, amount_minor FROM revenue.payments").fetchall()
        accounts = dict(conn.execute("SELECT account, sum(debit_minor) - sum(credit_minor) FROM revenue.ledger_entries "
                                     "WHERE tenant_id = ? GROUP BY 1", [ACME]).fetchall())
    assert status == "paid" and payment[0][1] == 7064
    assert accounts == {"accounts_receivable": 0, "cash": 7064, "revenue": -6422, "tax_payable": -642}

    # The operator finds the payment by the tenant's id (any case) or slug, and reverses it: audit row,
    # the receivable re-opens, Stripe no longer agrees (reported).
    monkeypatch.setenv("BILLING_WAREHOUSE_PATH", str(issued.warehouse_path))
    assert cli_main(["find-payments", "--tenant", ACME.upper()]) == 0
    listed = capsys.readouterr().out.splitlines()[2]
    assert listed.split()[0] == payment[0][0] and " 7064 " in listed and " 2026-04 " in listed
    reversal = run_job(issued, "reverse_payment", {"payment_id": listed.split()[0], "tenant": "acme",
                                                   "reason": "chargeback", "initiated_by_email": "ops@platform.example"},
                       "record_payment_reversal")
    assert reversal.success
    result = issued.materialize(STRIPE)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert checks["transactions_balance"].passed and not checks["receivables_match_stripe"].passed
    with issued.connect() as conn:
        assert conn.execute("SELECT status FROM revenue.tenant_invoices WHERE tenant_id = ?", [ACME]
                            ).fetchone()[0] == "issued"
        assert conn.execute("SELECT sum(debit_minor) - sum(credit_minor) FROM revenue.ledger_entries WHERE "
                            "tenant_id = ? AND account = 'accounts_receivable'", [ACME]).fetchone()[0] == 7064


def test_usage_reversal_on_an_issued_month_yields_a_credit_note_and_a_balanced_journal(issued, fake_stripe,
                                                                                    monkeypatch, capsys):
    issued.materialize(STRIPE)
    # The operator finds the event by slug and month (billing-assets find-usage), newest first.
    monkeypatch.setenv("BILLING_WAREHOUSE_PATH", str(issued.warehouse_path))
    finding = ["find-usage", "--tenant", "bondi-labs", "--period", "2026-04", "--deployment", "bondi-api",
               "--metric", "api_requests", "--limit", "2"]
    assert cli_main(finding) == 0
    listed = capsys.readouterr().out.splitlines()
    assert len(listed) == 5 and listed[-1].startswith("(first 2;")
    event_id, deployment, metric, quantity = listed[2].split()[:4]
    assert (deployment, metric) == ("bondi-api", "api_requests") and listed[2].endswith("False")
    quantity = int(quantity)
    bondi = stable_id("tenant", "bondi-labs")
    config = {"usage_event_id": event_id, "tenant": bondi.upper(), "reason": "duplicate emission from a bad deploy",
              "initiated_by_email": "ops@platform.example"}
    assert run_job(issued, "reverse_usage_event", config, "record_usage_reversal").success
    again = run_job(issued, "reverse_usage_event", config, "record_usage_reversal")
    assert not again.success  # already reversed: refused, nothing appended twice
    assert cli_main(finding) == 0
    again_listed = capsys.readouterr().out.splitlines()[2]
    assert again_listed.split()[0] == event_id and again_listed.endswith("True")  # now listed as reversed
    issued.month_close("2026-04-01", "2026-04-01")
    with issued.connect() as conn:
        docs = conn.execute("SELECT invoice_number, document_type, status, total_minor FROM revenue.tenant_invoices "
                            "WHERE tenant_id = ? ORDER BY correction_seq", [bondi]).fetchall()
        audit = conn.execute("SELECT usage_event_id, reason, initiated_by_email, original_quantity FROM "
                             "revenue.usage_event_reversals").fetchall()
    assert docs[0][2] == "issued" and docs[1][1] == "credit_note" and docs[1][3] < 0
    assert audit == [(event_id, config["reason"], config["initiated_by_email"], quantity)]
    issue = issued.defs.resolve_job_def("issue_invoices")
    issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": "2026-04"}}}})
    result = issued.materialize(STRIPE)
    assert all(c.passed for c in result.get_asset_check_evaluations())
    assert len(fake_stripe.objects["credit_note"]) == 1


BAD_REVERSALS = [
    ("reverse_usage_event", "record_usage_reversal",
     {"usage_event_id": "not-a-uuid", "tenant": ACME, "reason": "x dup", "initiated_by_email": "a@b.co"},
     "usage_event_id: 'not-a-uuid' is not a UUID"),
    ("reverse_usage_event", "record_usage_reversal",
     {"usage_event_id": stable_id("event", "nope", 0), "tenant": "nobody", "reason": "dup", "initiated_by_email": "a@b.co"},
     "tenant: no tenant with id or slug 'nobody'"),
    ("reverse_usage_event", "record_usage_reversal",
     {"usage_event_id": stable_id("event", "nope", 0), "tenant": " ", "reason": "dup", "initiated_by_email": "a@b.co"},
     "tenant: give the tenant's slug or id"),
    ("reverse_usage_event", "record_usage_reversal",
     {"usage_event_id": stable_id("event", "nope", 0), "tenant": ACME, "reason": " ", "initiated_by_email": "a@b.co"},
     "reason: must say why"),
    ("reverse_usage_event", "record_usage_reversal",
     {"usage_event_id": stable_id("event", "nope", 0), "tenant": ACME, "reason": "dup", "initiated_by_email": "ops"},
     "initiated_by_email: 'ops' is not an email address"),
    ("reverse_usage_event", "record_usage_reversal",
     {"usage_event_id": stable_id("event", "nope", 0), "tenant": ACME, "reason": "dup", "initiated_by_email": "a@b.co"},
     "usage_event_id: no usage event"),
    ("reverse_payment", "record_payment_reversal",
     {"payment_id": stable_id("payment", "none"), "tenant": ACME, "reason": "dup", "initiated_by_email": "a@b.co"},
     "payment_id: no payment"),
]


def test_bad_reversal_configs_are_refused_naming_the_field(issued):
    """Every case against one closed month: a refusal changes nothing, so they share the set-up."""
    for job, op, config, message in BAD_REVERSALS:
        result = run_job(issued, job, config, op)
        assert not result.success, message
        failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data
        assert message in (failure.user_failure_data.description if failure.user_failure_data
                           else failure.error.message), message
    with issued.connect() as conn:
        assert conn.execute("SELECT count(*) FROM revenue.usage_event_reversals").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM revenue.payment_reversals").fetchone()[0] == 0


def test_a_usage_event_of_another_tenant_is_refused(issued):
    with issued.connect() as conn:
        event_id = conn.execute("SELECT e.event_id FROM staging.usage_events e JOIN staging.deployments d "
                                "USING (deployment_id) WHERE d.slug = 'luxor-train' LIMIT 1").fetchone()[0]
    result = run_job(issued, "reverse_usage_event", {"usage_event_id": event_id, "tenant": ACME, "reason": "dup",
                                                     "initiated_by_email": "a@b.co"}, "record_usage_reversal")
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data
    assert "does not belong to tenant" in failure.user_failure_data.description
    with issued.connect() as conn:
        assert conn.execute("SELECT count(*) FROM revenue.usage_event_reversals").fetchone()[0] == 0


def test_without_a_key_stripe_assets_say_so_and_do_nothing(env):
    env.month_close("2026-04-01", "2026-04-01")
    result = env.materialize(STRIPE)
    meta = next(m for m in result.get_asset_materialization_events()
                if m.asset_key == dg.AssetKey("stripe_invoices")).materialization.metadata
    assert meta["stripe"].value.startswith("Stripe not configured")



def test_the_finders_refuse_naming_the_field(april_closed, monkeypatch, capsys):
    monkeypatch.setenv("BILLING_WAREHOUSE_PATH", str(april_closed.warehouse_path))
    for argv, message in ((["find-usage", "--tenant", "nobody", "--period", "2026-04"], "tenant: no tenant"),
                          (["find-usage", "--tenant", "acme", "--period", "2026-4x"], "period: not a month"),
                          (["find-payments", "--tenant", " "], "tenant: give a tenant slug or id")):
        assert cli_main(argv) == 2
        assert message in capsys.readouterr().err
