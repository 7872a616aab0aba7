"""What Stripe's events change in our record of collection, as a pure function of the events.

Stripe keeps a list of events (`GET /v1/events`), each holding a snapshot of the object it is
about. Reading that list from a stored cursor costs API calls in proportion to what happened, not
to how many invoices exist, and it sees every failed attempt, refund and dispute rather than only
the status they leave behind. The rules, in order:

- An event is applied once: its id is recorded, and an id already recorded is ignored (a replay,
  or the overlap below).
- Events are applied in created order (ties by id). Stripe lists newest first and promises no
  order within a second, so the cursor is re-read with an overlap and the batch is sorted.
- An invoice's state is the snapshot of its newest event. A snapshot never replaces a newer one
  (an older event seen late changes nothing); between two snapshots of the same second, the one
  further along (draft < open < uncollectible < paid < void, then more paid) wins, and where
  neither is further along the one applied later (by id) does.
- A refund is the increase of a charge's `amount_refunded` over what was recorded for it.
- A failed payment is one `invoice.payment_failed` event (Stripe also sends `charge.failed` and
  `payment_intent.payment_failed` for the same attempt; those update the charge, never count twice).
- A dispute is one row per dispute id holding its latest status.
- Events about objects that are not ours (an invoice we did not push, a charge of another
  invoice) are recorded as applied with the reason they changed nothing, so they are not re-read.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

SYNC_EVENT_TYPES = (
    "invoice.finalized", "invoice.updated", "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
    "invoice.voided", "invoice.marked_uncollectible", "charge.succeeded", "charge.failed", "charge.refunded",
    "charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed", "credit_note.created",
    "credit_note.voided", "payment_intent.payment_failed")
CURSOR_OVERLAP_S = 300  # events are re-read from 5 minutes before the newest applied one
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC).replace(tzinfo=None)  # naive UTC, as stored
STATUS_RANK = {"draft": 0, "open": 1, "uncollectible": 2, "paid": 3, "void": 4}


def utc(seconds: int | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None)


def customer_credit_applied(invoice: dict) -> int:
    """Credit from the tenant's Stripe balance (a post-payment credit note) that Stripe applied to
    this invoice at finalization, lowering its amount_due: balances are negative when in credit."""
    ending = invoice.get("ending_balance")
    return 0 if ending is None else ending - (invoice.get("starting_balance") or 0)


def status_row(invoice: dict, invoice_id: str, checked_at: datetime, event_id: str | None,
               evidence_at: datetime | None) -> list:
    """One revenue.stripe_invoice_status row from a Stripe invoice (an event's snapshot or a listing)."""
    paid_at = (invoice.get("status_transitions") or {}).get("paid_at")
    return [invoice["id"], invoice_id, invoice["status"], invoice["total"], invoice["amount_due"],
            invoice["amount_paid"], invoice["amount_remaining"], invoice.get("pre_payment_credit_notes_amount") or 0,
            invoice.get("post_payment_credit_notes_amount") or 0, customer_credit_applied(invoice), checked_at,
            utc(paid_at) if invoice["status"] == "paid" and paid_at else None, event_id, evidence_at]


def progress(row: list) -> tuple:
    """How far along a status row is: evidence time, then status, then amount paid."""
    return (row[13] or EARLIEST, STATUS_RANK.get(row[2], 0), row[5])


@dataclass
class Ours:
    """What the warehouse already knows: our documents in Stripe, the state held, events applied."""

    documents: dict[str, tuple[str, str, str]]  # stripe invoice id -> (invoice id, tenant id, currency)
    statuses: dict[str, list] = field(default_factory=dict)  # stripe invoice id -> status row
    charges: dict[str, list] = field(default_factory=dict)  # charge id -> stripe_charges row
    applied: set[str] = field(default_factory=set)  # event ids


@dataclass
class Changes:
    events: list[list] = field(default_factory=list)  # revenue.stripe_events rows
    statuses: dict[str, list] = field(default_factory=dict)
    charges: dict[str, list] = field(default_factory=dict)
    refunds: list[list] = field(default_factory=list)
    disputes: dict[str, list] = field(default_factory=dict)
    failures: list[list] = field(default_factory=list)
    replays: int = 0

    @property
    def newest(self) -> tuple[datetime, str] | None:
        return max(((r[2], r[0]) for r in self.events), default=None)


def apply_events(events: Iterable[dict], ours: Ours, now: datetime) -> Changes:
    """The rows the events add or replace. `events` are Stripe event dicts in any order, repeats allowed."""
    changes = Changes()
    seen = set(ours.applied)
    statuses, charges = dict(ours.statuses), dict(ours.charges)
    for event in sorted(events, key=lambda e: (e["created"], e["id"])):
        if event["id"] in seen:
            changes.replays += 1
            continue
        seen.add(event["id"])
        obj, created, kind = event["data"]["object"], utc(event["created"]), event["type"]
        outcome = _apply(kind, obj, event["id"], created, ours.documents, statuses, charges, changes, now)
        stripe_invoice = obj["id"] if obj.get("object") == "invoice" else obj.get("invoice")
        changes.events.append([event["id"], kind, created, obj.get("id"), stripe_invoice, outcome, now])
    changes.statuses = {k: v for k, v in statuses.items() if ours.statuses.get(k) is not v}
    changes.charges = {k: v for k, v in charges.items() if ours.charges.get(k) is not v}
    return changes


def _apply(kind: str, obj: dict, event_id: str, created: datetime, documents, statuses, charges,
           changes: Changes, now: datetime) -> str:
    """Apply one event; returns what it did (kept in revenue.stripe_events.outcome)."""
    if kind.startswith("invoice."):
        if obj["id"] not in documents:
            return "ignored: not an invoice we pushed"
        invoice_id, tenant_id, currency = documents[obj["id"]]
        if kind == "invoice.payment_failed":
            changes.failures.append([event_id, obj["id"], invoice_id, tenant_id, obj["amount_remaining"], currency,
                                     obj.get("attempt_count") or 1, created])
        row = status_row(obj, invoice_id, now, event_id, created)
        held = statuses.get(obj["id"])
        if held is not None and progress(held) > progress(row):
            return "ignored: older than the state held" if kind != "invoice.payment_failed" else "failure recorded"
        statuses[obj["id"]] = row
        return "status " + obj["status"]
    if kind.startswith("charge.dispute."):
        charge = charges.get(obj["charge"])
        if charge is None:
            return "ignored: dispute of a charge not ours"
        changes.disputes[obj["id"]] = [obj["id"], obj["charge"], charge[1], charge[2], charge[3], obj["amount"],
                                       charge[5], obj["status"], obj.get("reason"), event_id, created]
        return "dispute " + obj["status"]
    if kind.startswith("charge."):
        if obj.get("invoice") not in documents:
            return "ignored: charge of an invoice we did not push"
        invoice_id, tenant_id, _ = documents[obj["invoice"]]
        before = charges.get(obj["id"])
        refunded_before = before[7] if before else 0
        if before is not None and before[9] and before[9] > created:
            return "ignored: older than the charge held"
        charges[obj["id"]] = [obj["id"], obj["invoice"], invoice_id, tenant_id, obj["amount"], obj["currency"].upper(),
                              obj["status"], obj.get("amount_refunded") or 0, obj.get("failure_message"), created,
                              event_id]
        refunded = (obj.get("amount_refunded") or 0) - refunded_before
        if refunded > 0:
            changes.refunds.append([event_id, obj["id"], obj["invoice"], invoice_id, tenant_id, refunded,
                                    obj["currency"].upper(), created])
            return f"refund {refunded}"
        return "charge " + obj["status"]
    return "recorded: the invoice's own event carries the change"
