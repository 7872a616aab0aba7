"""Stripe API calls of one day's collection sync, by events against listing, at N tenants.

    .venv/bin/python benchmarks/stripe_sync.py [--tenants 10000] [--events-per-day 600]

Fills the local Stripe-format server (tests/fakes/stripe.py, over real HTTP) with one open invoice
per tenant, lets a day pass in which some tenants pay, some fail and one is refunded, and then
counts the calls each way of learning that day costs: reading events from yesterday's cursor (what
`stripe_payments` does), listing every invoice by customer (the weekly reconcile, and the first
sync), and retrieving every invoice one by one (what `stripe_payments` did before issue 20). Target
(issue 20): the daily sync's calls follow the day's events, not the number of invoices.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from werkzeug import Request
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from billing_assets.revenue.payments import stripe_pull
from billing_assets.revenue.payments.stripe_events import Ours, utc
from billing_assets.revenue.payments.stripe_push import make_client
from tests.fakes.stripe import FakeStripe

KEY = "sk_test_benchmark_key_0000000000"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--events-per-day", type=int, default=600, help="about two events per payment or failure")
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    fake = FakeStripe(KEY)
    server = make_server("127.0.0.1", 0, Request.application(fake), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client = make_client(KEY, f"http://127.0.0.1:{server.server_port}")
    documents = {}
    for n in range(args.tenants):  # one customer and one finalized invoice each, straight into the server's state
        customer = {"id": f"cus_{n:06d}", "object": "customer", "created": fake.clock, "balance": 0, "metadata": {}}
        fake.objects["customer"][customer["id"]] = customer
        invoice = {"id": f"in_{n:06d}", "object": "invoice", "created": fake.clock, "customer": customer["id"],
                   "status": "draft", "currency": "usd", "total": 1000 + n % 997, "amount_due": 0, "amount_paid": 0,
                   "amount_remaining": 0, "starting_balance": 0, "ending_balance": None, "metadata": {},
                   "pre_payment_credit_notes_amount": 0, "post_payment_credit_notes_amount": 0,
                   "status_transitions": {"finalized_at": None, "paid_at": None}}
        fake.objects["invoice"][invoice["id"]] = invoice
        fake.finalize(invoice["id"])
        fake.advance(1)  # issued over the previous hours, not all in one second
        documents[invoice["id"]] = (f"doc-{n}", f"tenant-{n}", "USD")
    cursor = (utc(fake.events[-1]["created"]), fake.events[-1]["id"])
    ours = Ours(documents, applied={e["id"] for e in fake.events})
    fake.advance(24 * 3600)  # the day
    ids = list(fake.objects["invoice"])
    for n in range(args.events_per_day // 2):
        invoice_id = ids[(n * 7919) % len(ids)]
        fake.advance(60)
        if fake.objects["invoice"][invoice_id]["status"] == "paid":
            continue
        (fake.fail_payment if n % 5 == 0 else fake.pay)(invoice_id)
    day_events = sum(1 for e in fake.events if utc(e["created"]) > cursor[0])
    now = datetime.now(UTC).replace(tzinfo=None)

    started = time.perf_counter()
    changes, read, event_calls, _ = stripe_pull.sync_events(client, ours, cursor, now)
    event_seconds = time.perf_counter() - started
    started = time.perf_counter()
    _, _, listing_calls, _ = stripe_pull.full_reconcile(client, ours, sorted({i["customer"] for i in
                                                                             fake.objects["invoice"].values()}), now)
    listing_seconds = time.perf_counter() - started
    print(f"{args.tenants:,} tenants, {len(documents):,} open invoices, {day_events:,} events in the day")
    print(f"  events since the cursor: {event_calls:,} API calls ({read:,} events read, {len(changes.events):,} "
          f"applied, {len(changes.statuses):,} invoice states changed, {len(changes.failures):,} failed payments) "
          f"in {event_seconds:.1f} s")
    print(f"  listing by customer:     {listing_calls:,} API calls in {listing_seconds:.1f} s (weekly reconcile)")
    print(f"  retrieve per invoice:    {len(documents):,} API calls (before issue 20; not run)")
    server.shutdown()


if __name__ == "__main__":
    main()
