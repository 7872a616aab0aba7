"""Stripe exactly once beyond the idempotency window: a push killed at any point and re-run within
or after Stripe's 24 h key window leaves each document in Stripe once, with our total, no item twice;
a saved error replayed for a key is recognised; a wrong total is never finalized; one document's
failure does not stop the others; drift stays green after credit notes and partial payments.

Against tests/fakes/stripe.py, which behaves as Stripe documents (keys expire, saved errors replay,
search lags creation, credit notes lower amount_due). The kill is injected in the HTTP client: it
raises a BaseException right after Stripe answered the chosen request, past every handler, as a
SIGKILL would (the warehouse is written only after a push returns, so the state left is the same;
tests/test_crash_recovery.py does it with a real SIGKILL)."""

from __future__ import annotations

import re
from collections import Counter
from urllib.parse import urlparse

import dagster as dg
import pytest
import stripe

from billing_assets.revenue.invoicing import store
from billing_assets.revenue.payments.stripe_push import idempotency_key, once, push_document
from billing_assets.sample_world import stable_id
from tests.conftest import STRIPE_KEY
from tests.fakes.stripe import DAY, FakeStripe
from tests.revenue.payments.test_stripe_and_reversals import ACME, STRIPE, run_job

KILL_POINTS = [  # (what was done when the process died, request, how many of them)
    ("invoice created", "POST", r"/v1/invoices", 1),
    ("two items created", "POST", r"/v1/invoiceitems", 2),
    ("invoice finalized", "POST", r"/v1/invoices/in_\w+/finalize", 1),
]


class Killed(BaseException):
    """The process dying here: nothing below catches a BaseException, as nothing survives a SIGKILL."""


class DyingHTTPClient(stripe.RequestsClient):
    def __init__(self, method: str, path_pattern: str, after: int) -> None:
        super().__init__(timeout=5)
        self.method, self.pattern, self.after, self.seen = method, path_pattern, after, 0

    def request(self, method, url, headers, post_data=None):
        answer = super().request(method, url, headers, post_data)
        if method.upper() == self.method and re.fullmatch(self.pattern, urlparse(url).path):
            self.seen += 1
            if self.seen == self.after:
                raise Killed(f"killed after {method} {url}")
        return answer


def dying_client(fake: FakeStripe, method: str, pattern: str, after: int = 1) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake.base}, max_network_retries=0,
                               http_client=DyingHTTPClient(method, pattern, after))


def client(fake: FakeStripe) -> stripe.StripeClient:
    return stripe.StripeClient(STRIPE_KEY, base_addresses={"api": fake.base}, max_network_retries=0)


def issued_documents(env) -> list:
    """(document, billing email) of every issued document, in the order the push takes them."""
    with env.connect() as conn:
        rows = conn.execute("SELECT i.invoice_id, t.billing_email FROM revenue.tenant_invoices i JOIN staging.tenants t "
                            "USING (tenant_id) WHERE i.status = 'issued' AND i.total_minor <> 0 "
                            "ORDER BY i.period_start, i.tenant_id, i.correction_seq").fetchall()
        stored = store.stored_documents(conn, [r[0] for r in rows])
    return [(stored[invoice_id], email) for invoice_id, email in rows]


def checks(result) -> dict:
    return {c.check_name: c.passed for c in result.get_asset_check_evaluations()}


def assert_each_once_with_our_total(env, fake: FakeStripe, documents: int = 9) -> None:
    with env.connect() as conn:
        recorded = conn.execute("SELECT s.invoice_id, s.stripe_object_id, i.total_minor FROM revenue.stripe_documents s "
                                "JOIN revenue.tenant_invoices i USING (invoice_id) WHERE s.object_type = 'invoice'"
                                ).fetchall()
    in_stripe = Counter(invoice["metadata"]["invoice_id"] for invoice in fake.objects["invoice"].values())
    assert len(recorded) == documents and set(in_stripe) == {r[0] for r in recorded}
    assert set(in_stripe.values()) == {1}, in_stripe  # no document twice
    for _, stripe_id, total in recorded:
        invoice = fake.objects["invoice"][stripe_id]
        assert invoice["status"] == "open" and invoice["total"] == total == invoice["amount_due"]
        lines = Counter(item["metadata"]["line_number"] for item in fake.items_of(stripe_id))
        assert set(lines.values()) == {1}, (stripe_id, lines)  # no item twice
    customers = Counter(c["metadata"]["tenant_id"] for c in fake.objects["customer"].values())
    assert set(customers.values()) == {1} and len(customers) == documents


@pytest.mark.parametrize("rerun", ["within the key window", "after the key window"])
def test_a_push_killed_at_any_point_converges_on_one_document_with_our_total(issued, fake_stripe, rerun):
    documents = issued_documents(issued)
    for (doc, email), (_, method, pattern, after) in zip(documents, KILL_POINTS, strict=False):
        with pytest.raises(Killed):
            push_document(dying_client(fake_stripe, method, pattern, after), doc, email)
    left = sorted((inv["status"], len(fake_stripe.items_of(inv["id"]))) for inv in fake_stripe.objects["invoice"].values())
    assert left == [("draft", 0), ("draft", 2), ("open", len([li for li in documents[2][0].lines if li.amount]))]
    if rerun == "after the key window":
        fake_stripe.advance(DAY + 60)  # every key expired: only reading Stripe's state can prevent doubles
    else:
        assert fake_stripe.search_lag_s > 0  # and nothing advanced the clock: search cannot see them yet
    result = issued.materialize(STRIPE)
    assert all(checks(result).values())
    assert_each_once_with_our_total(issued, fake_stripe)
    assert not fake_stripe.posts_without_key


def test_saved_errors_and_conflicting_keys_are_recognised_and_retried_once_under_a_fresh_key(issued, fake_stripe):
    documents = issued_documents(issued)
    acme = next(email for doc, email in documents if doc.tenant.tenant_id == ACME)
    # Within the window, the tenant's customer key was used with other parameters (renamed since).
    client(fake_stripe).v1.customers.create({"name": "Acme before the rename", "email": acme},
                                            {"idempotency_key": idempotency_key(ACME, "-", "customer")})
    fake_stripe.fail_after(r"/v1/customers")                 # made, answered 500: saved and replayed
    fake_stripe.fail_after(r"/v1/invoiceitems")              # the same for an item
    fake_stripe.fail_before(r"/v1/invoiceitems")             # 500 before acting, also saved for the key
    fake_stripe.before(r"/v1/invoices/in_\w+/finalize",      # finalized by someone else a moment before us
                       lambda path: fake_stripe.finalize(path.split("/")[3]))
    result = issued.materialize(STRIPE)
    assert all(checks(result).values())
    stray = [c for c in fake_stripe.objects["customer"].values() if not c["metadata"]]
    assert [c["name"] for c in stray] == ["Acme before the rename"]  # not ours: left alone, not used
    for c in stray:
        del fake_stripe.objects["customer"][c["id"]]
    assert_each_once_with_our_total(issued, fake_stripe)
    fresh = [key for key in fake_stripe.idempotency if "/fresh-" in key]
    assert len(fresh) == 2, fresh  # the conflicting customer key and the item never made; nothing else


def test_a_draft_that_differs_is_never_finalized_and_the_other_documents_go_through(issued, fake_stripe):
    documents = issued_documents(issued)
    doc, email = documents[0]
    with pytest.raises(Killed):
        push_document(dying_client(fake_stripe, "POST", r"/v1/invoiceitems"), doc, email)
    (draft,) = fake_stripe.objects["invoice"].values()
    (first,) = fake_stripe.items_of(draft["id"])
    number = first["metadata"]["line_number"]
    client(fake_stripe).v1.invoice_items.create(  # a second copy of that line (an older release, a person)
        {"customer": draft["customer"], "invoice": draft["id"], "amount": doc.lines[int(number) - 1].amount,
         "currency": "usd", "metadata": {"invoice_id": doc.invoice_id, "line_number": number}},
        {"idempotency_key": "someone-else"})
    fake_stripe.advance(DAY + 60)
    result = issued.materialize(["stripe_invoices"], raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data
    message = failure.user_failure_data.description
    assert message.startswith("1 of 9 documents did not go through to Stripe (8 did, and are recorded)")
    assert doc.invoice_number in message and draft["id"] in message and f"line {number} held 2x" in message
    assert draft["status"] == "draft"  # refused before finalizing: left for inspection
    assert len(list(e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY")) == 0  # not retried
    with issued.connect() as conn:
        recorded = {r[0] for r in conn.execute("SELECT invoice_id FROM revenue.stripe_documents").fetchall()}
    assert len(recorded) == 8 and doc.invoice_id not in recorded
    assert all(inv["status"] == "open" for inv in fake_stripe.objects["invoice"].values() if inv is not draft)


def reverse_and_reissue(env, tenant_slug: str) -> None:
    """A usage event of an issued April reversed: the month close makes a credit note, issued here."""
    with env.connect() as conn:
        event_id = conn.execute(
            "SELECT e.event_id FROM staging.usage_events e JOIN staging.deployments d USING (deployment_id) "
            "WHERE d.slug = 'bondi-api' AND e.metric = 'api_requests' AND e.occurred_at >= '2026-04-01' "
            "AND e.occurred_at < '2026-05-01' ORDER BY e.quantity DESC LIMIT 1").fetchone()[0]
    config = {"usage_event_id": event_id, "tenant": tenant_slug, "reason": "duplicate emission",
              "initiated_by_email": "ops@platform.example"}
    assert run_job(env, "reverse_usage_event", config, "record_usage_reversal").success
    env.month_close("2026-04-01", "2026-04-01")
    issue = env.defs.resolve_job_def("issue_invoices")
    assert issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": "2026-04"}}}}).success


def test_a_credit_note_killed_after_create_is_found_again_and_drift_stays_green(issued, fake_stripe):
    bondi = stable_id("tenant", "bondi-labs")
    issued.materialize(STRIPE)
    with issued.connect() as conn:
        original, total = conn.execute("SELECT s.stripe_object_id, i.total_minor FROM revenue.stripe_documents s "
                                       "JOIN revenue.tenant_invoices i USING (invoice_id) WHERE s.tenant_id = ?",
                                       [bondi]).fetchone()
    fake_stripe.pay(original, 1000)  # 10.00 paid so far: a partial payment
    reverse_and_reissue(issued, "bondi-labs")
    (note_doc, _), = [(d, e) for d, e in issued_documents(issued) if d.document_type == "credit_note"]
    credit = -note_doc.total
    assert 0 < credit < total - 1000
    with pytest.raises(Killed):
        push_document(dying_client(fake_stripe, "POST", r"/v1/credit_notes"), note_doc, None, original)
    again = push_document(client(fake_stripe), note_doc, None, original)  # within the window: found, not made
    fake_stripe.advance(DAY + 60)
    result = issued.materialize(STRIPE)                                    # after it: found again
    assert all(checks(result).values())
    (note,) = fake_stripe.objects["credit_note"].values()
    assert again.stripe_object_id == note["id"] and note["total"] == credit
    invoice = fake_stripe.objects["invoice"][original]
    # Hand-worked: Stripe lowers amount_due by the pre-payment credit; the partial payment lowers only
    # what remains. amount_due = total - credit; amount_remaining = total - credit - 1000.
    assert invoice["amount_due"] == total - credit and invoice["amount_remaining"] == total - credit - 1000
    with issued.connect() as conn:
        assert conn.execute("SELECT amount_due_minor, pre_payment_credit_notes_minor FROM revenue.stripe_invoice_status "
                            "WHERE stripe_invoice_id = ?", [original]).fetchone() == (total - credit, credit)


def test_a_credit_note_on_a_paid_invoice_is_credited_to_the_balance_stripe_applies_next(issued, fake_stripe):
    bondi = stable_id("tenant", "bondi-labs")
    issued.materialize(STRIPE)
    with issued.connect() as conn:
        original = conn.execute("SELECT stripe_object_id FROM revenue.stripe_documents WHERE tenant_id = ?",
                                [bondi]).fetchone()[0]
    fake_stripe.pay(original)
    issued.materialize(STRIPE)  # the payment recorded
    reverse_and_reissue(issued, "bondi-labs")
    result = issued.materialize(STRIPE)
    assert checks(result) == {"no_payment_drift": True, "transactions_balance": True, "receivables_match_stripe": True}
    (note,) = fake_stripe.objects["credit_note"].values()
    customer = fake_stripe.objects["customer"][fake_stripe.objects["invoice"][original]["customer"]]
    assert note["post_payment_amount"] == note["total"] > 0 and customer["balance"] == -note["total"]
    meta = next(m for m in result.get_asset_materialization_events()
                if m.asset_key == dg.AssetKey("stripe_invoices")).materialization.metadata
    assert meta["pushed"].value == 1


def test_once_reads_again_before_acting_under_a_fresh_key():
    calls = []

    def act(options):
        calls.append(options["idempotency_key"])
        if len(calls) == 1:
            raise stripe.APIError("saved", http_status=500, headers={"Idempotent-Replayed": "true"})
        return "made"

    assert once(act, "k", lambda: "found") == "found" and calls == ["k"]
    calls.clear()
    assert once(act, "k", lambda: None) == "made" and calls[0] == "k" and calls[1].startswith("k/fresh-")
    calls.clear()

    def refused(options):
        calls.append(options)
        raise stripe.InvalidRequestError("No such customer", param="customer", http_status=400)

    with pytest.raises(stripe.InvalidRequestError):
        once(refused, "k", lambda: pytest.fail("a plain refusal is not a saved result: no second look"))
    assert len(calls) == 1


def test_the_fake_behaves_as_stripe_documents(fake_stripe):
    """The behaviours the push must survive, checked on the fake itself so a lenient fake cannot hide them."""
    api = client(fake_stripe)
    key = {"idempotency_key": "k-customer"}
    first = api.v1.customers.create({"name": "A", "metadata": {"tenant_id": "t1"}}, key)
    assert api.v1.customers.create({"name": "A", "metadata": {"tenant_id": "t1"}}, key).id == first.id  # replayed
    with pytest.raises(stripe.IdempotencyError):  # same key, other parameters
        api.v1.customers.create({"name": "B", "metadata": {"tenant_id": "t1"}}, key)
    query = {"query": "metadata['tenant_id']:'t1'"}
    assert api.v1.customers.search(query).data == []  # search lags creation ...
    assert [c.id for c in api.v1.customers.list({}).auto_paging_iter()] == [first.id]  # ... a list does not
    fake_stripe.advance(DAY + 1)
    assert [c.id for c in api.v1.customers.search(query).data] == [first.id]
    assert api.v1.customers.create({"name": "A", "metadata": {"tenant_id": "t1"}}, key).id != first.id  # key expired

    invoice = api.v1.invoices.create({"customer": first.id}, {"idempotency_key": "k-invoice"})
    fake_stripe.fail_after(r"/v1/invoiceitems")
    with pytest.raises(stripe.APIError) as saved:
        api.v1.invoice_items.create({"invoice": invoice.id, "amount": 1000}, {"idempotency_key": "k-item"})
    with pytest.raises(stripe.APIError) as replayed:  # the saved 500 comes back for the key, marked so
        api.v1.invoice_items.create({"invoice": invoice.id, "amount": 1000}, {"idempotency_key": "k-item"})
    assert saved.value.http_status == replayed.value.http_status == 500
    assert replayed.value.headers["Idempotent-Replayed"] == "true" and len(fake_stripe.items_of(invoice.id)) == 1
    api.v1.invoices.finalize_invoice(invoice.id, {}, {"idempotency_key": "k-fin"})
    with pytest.raises(stripe.InvalidRequestError) as again:
        api.v1.invoices.finalize_invoice(invoice.id, {}, {"idempotency_key": "k-fin-2"})
    assert again.value.code == "invoice_already_finalized"
    fake_stripe.pay(invoice.id, 300)  # partial: amount_due stays, what remains falls
    note = {"invoice": invoice.id, "lines": [{"type": "custom_line_item", "quantity": 1, "unit_amount": 900}]}
    with pytest.raises(stripe.InvalidRequestError, match="post-payment amount"):  # 200 of 900 is beyond what remains
        api.v1.credit_notes.create(note, {"idempotency_key": "k-cn"})
    api.v1.credit_notes.create({**note, "credit_amount": 200}, {"idempotency_key": "k-cn-2"})
    held = api.v1.invoices.retrieve(invoice.id)
    # 1000 due; 300 paid leaves 700; the note's 700 pre-payment part lowers both; 200 goes to the balance.
    assert (held.amount_due, held.amount_paid, held.amount_remaining, held.status) == (300, 300, 0, "paid")
    assert (held.pre_payment_credit_notes_amount, held.post_payment_credit_notes_amount) == (700, 200)
    assert fake_stripe.objects["customer"][first.id]["balance"] == -200
