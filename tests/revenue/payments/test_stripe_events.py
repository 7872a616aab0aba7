"""Collection read from Stripe's events (issue 20): apply-once, created order, pagination, a failed
payment then success, a refund, a dispute, and the weekly full reconcile that checks it all."""

from datetime import datetime

import dagster as dg

from billing_assets.revenue.payments import stripe_pull
from billing_assets.revenue.payments.stripe_events import Ours, apply_events
from billing_assets.sample_world import stable_id

ACME, BONDI = stable_id("tenant", "acme"), stable_id("tenant", "bondi-labs")
STRIPE = ["stripe_invoices", "stripe_payments", "ledger_entries"]
NOW = datetime(2026, 5, 10, 12)


def invoice_event(event_id: str, created: int, kind: str, status: str, paid: int, total: int = 1000) -> dict:
    return {"id": event_id, "type": kind, "created": created, "data": {"object": {
        "object": "invoice", "id": "in_1", "status": status, "total": total, "amount_due": total,
        "amount_paid": paid, "amount_remaining": total - paid, "status_transitions": {"paid_at": created}}}}


def test_each_event_applies_once_in_created_order_and_an_older_snapshot_changes_nothing():
    ours = Ours({"in_1": ("inv-1", "t-1", "USD")})
    finalized = invoice_event("evt_a", 100, "invoice.finalized", "open", 0)
    failed = invoice_event("evt_b", 200, "invoice.payment_failed", "open", 0)
    paid = invoice_event("evt_c", 300, "invoice.paid", "paid", 1000)
    # Listed newest first, one of them twice (a replay), and the paid one before the older ones.
    changes = apply_events([paid, failed, finalized, failed], ours, NOW)
    assert [e[0] for e in changes.events] == ["evt_a", "evt_b", "evt_c"] and changes.replays == 1
    (row,) = changes.statuses.values()
    assert row[2] == "paid" and row[5] == 1000 and row[12] == "evt_c"
    assert [(f[0], f[4], f[6]) for f in changes.failures] == [("evt_b", 1000, 1)]  # one failed attempt of 10.00

    # The next read overlaps: the three come again (ignored) with a late-seen older snapshot (no effect).
    held = Ours(ours.documents, {"in_1": row}, {}, {"evt_a", "evt_b", "evt_c"})
    late = invoice_event("evt_0", 150, "invoice.updated", "open", 0)
    again = apply_events([paid, failed, finalized, late], held, NOW)
    assert again.replays == 3 and again.statuses == {} and again.events[0][5] == "ignored: older than the state held"


def test_refunds_are_the_increase_of_amount_refunded_and_a_dispute_keeps_its_latest_status():
    ours = Ours({"in_1": ("inv-1", "t-1", "USD")})
    charge = {"object": "charge", "id": "ch_1", "invoice": "in_1", "amount": 5000, "currency": "usd",
              "status": "succeeded", "amount_refunded": 0}
    events = [{"id": "evt_1", "type": "charge.succeeded", "created": 10, "data": {"object": charge}},
              {"id": "evt_2", "type": "charge.refunded", "created": 20,
               "data": {"object": {**charge, "amount_refunded": 1200}}},
              {"id": "evt_3", "type": "charge.refunded", "created": 30,
               "data": {"object": {**charge, "amount_refunded": 2000}}},
              {"id": "evt_4", "type": "charge.dispute.created", "created": 40, "data": {"object": {
                  "object": "dispute", "id": "du_1", "charge": "ch_1", "amount": 3000, "status": "needs_response"}}},
              {"id": "evt_5", "type": "charge.dispute.closed", "created": 50, "data": {"object": {
                  "object": "dispute", "id": "du_1", "charge": "ch_1", "amount": 3000, "status": "lost"}}},
              {"id": "evt_6", "type": "charge.succeeded", "created": 60, "data": {"object": {
                  **charge, "id": "ch_9", "invoice": "in_not_ours"}}}]
    changes = apply_events(events, ours, NOW)
    # Hand-worked: 12.00 refunded, then 20.00 in all, so the second refund is 8.00.
    assert [(r[0], r[5], r[6]) for r in changes.refunds] == [("evt_2", 1200, "USD"), ("evt_3", 800, "USD")]
    assert changes.disputes["du_1"][7] == "lost" and changes.disputes["du_1"][9] == "evt_5"
    assert changes.events[-1][5] == "ignored: charge of an invoice we did not push"


def pushed(env) -> dict[str, str]:
    with env.connect() as conn:
        return dict(conn.execute("SELECT tenant_id, stripe_object_id FROM revenue.stripe_documents").fetchall())


def meta(result, key: str) -> dict:
    return next(m for m in result.get_asset_materialization_events()
                if m.asset_key == dg.AssetKey(key)).materialization.metadata


def test_collection_follows_stripes_events_across_pages_once_each(issued, fake_stripe, monkeypatch):
    monkeypatch.setattr(stripe_pull, "PAGE", 3)  # so the events of one day span several pages
    first = issued.materialize(STRIPE)
    assert meta(first, "stripe_payments")["mode"].value == "full_reconcile"  # no cursor yet: listed by customer
    ids = pushed(issued)
    acme, bondi = ids[ACME], ids[BONDI]
    acme_total = fake_stripe.objects["invoice"][acme]["total"]
    fake_stripe.advance(60)
    fake_stripe.fail_payment(acme)               # declined ...
    fake_stripe.advance(60)
    fake_stripe.pay(acme)                        # ... then paid in full
    fake_stripe.advance(60)
    fake_stripe.pay(bondi)
    fake_stripe.refund(bondi, 500)               # 5.00 back to bondi
    fake_stripe.advance(60)
    fake_stripe.dispute(acme)                    # and acme's card holder disputes the charge
    fake_stripe.shuffle_event_pages = True       # each page in no particular order
    second = issued.materialize(STRIPE)
    got = meta(second, "stripe_payments")
    # Events after the cursor: failed (charge.failed, invoice.payment_failed), paid (charge.succeeded,
    # invoice.paid) twice, the refund and the dispute: 8. The nine finalizations of the cursor's own
    # second come again through the overlap: recorded once, they change nothing. 17 events, read in
    # ceil(17 / 3) = 6 calls (a 7th when the last page is exactly full).
    assert got["mode"].value == "events" and got["events_applied"].value == 17 == got["events_read"].value
    assert got["api_calls"].value in (6, 7)
    with issued.connect() as conn:
        statuses = dict(conn.execute("SELECT s.invoice_id, s.status FROM revenue.stripe_invoice_status s JOIN "
                                     "revenue.stripe_documents d ON d.stripe_object_id = s.stripe_invoice_id "
                                     "WHERE d.tenant_id IN (?, ?)", [ACME, BONDI]).fetchall())
        payments = conn.execute("SELECT tenant_id, amount_minor FROM revenue.payments ORDER BY 1").fetchall()
        failures = conn.execute("SELECT tenant_id, attempt_count FROM revenue.payment_failures").fetchall()
        refunds = conn.execute("SELECT tenant_id, amount_minor, event_id FROM revenue.stripe_refunds").fetchall()
        disputes = conn.execute("SELECT tenant_id, status, amount_minor FROM revenue.stripe_disputes").fetchall()
        paid = conn.execute("SELECT count(*) FROM revenue.tenant_invoices WHERE status = 'paid'").fetchone()[0]
    assert set(statuses.values()) == {"paid"} and paid == 2
    assert sorted(payments) == sorted([(ACME, acme_total), (BONDI, fake_stripe.objects["invoice"][bondi]["total"])])
    assert failures == [(ACME, 1)] and [r[:2] for r in refunds] == [(BONDI, 500)]
    assert refunds[0][2].startswith("evt_") and disputes == [(ACME, "needs_response", acme_total)]
    assert all(c.passed for c in second.get_asset_check_evaluations())

    # A replay of one event and a re-read of the overlap change nothing.
    fake_stripe.shuffle_event_pages = False
    fake_stripe.repeat_event(fake_stripe.events[-1]["id"])
    third = meta(issued.materialize(STRIPE), "stripe_payments")
    assert third["events_applied"].value == 0 and third["replays_ignored"].value >= 1
    with issued.connect() as conn:
        assert conn.execute("SELECT count(*) FROM revenue.payments").fetchone()[0] == 2
        assert conn.execute("SELECT count(*) FROM revenue.stripe_refunds").fetchone()[0] == 1


def test_the_weekly_full_reconcile_agrees_then_names_what_the_events_missed(issued, fake_stripe):
    issued.materialize(STRIPE)
    acme = pushed(issued)[ACME]
    fake_stripe.pay(acme)
    issued.materialize(STRIPE)
    agreed = issued.materialize(["stripe_full_reconcile"])
    check = agreed.get_asset_check_evaluations()[0]
    assert check.passed and meta(agreed, "stripe_full_reconcile")["api_calls"].value == 1 + 9  # newest event + 9 customers
    # Stripe changes an invoice without an event we can read (lost past retention, say): only the listing sees it.
    bondi = pushed(issued)[BONDI]
    invoice = fake_stripe.objects["invoice"][bondi]
    invoice.update(amount_paid=invoice["amount_remaining"], amount_remaining=0, status="paid")
    missed = issued.materialize(["stripe_full_reconcile"])
    check = missed.get_asset_check_evaluations()[0]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    details = check.metadata["details"].value
    assert bondi in details and "status" in details and "amount_paid_minor" in details
    with issued.connect() as conn:  # repaired from the listing: bondi's payment is recorded
        assert conn.execute("SELECT count(*) FROM revenue.payments WHERE tenant_id = ?", [BONDI]).fetchone()[0] == 1
        assert conn.execute("SELECT count(DISTINCT field) FROM revenue.stripe_reconcile_differences").fetchone()[0] >= 3
    assert issued.materialize(["stripe_full_reconcile"]).get_asset_check_evaluations()[0].passed
