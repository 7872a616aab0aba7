"""Pushing issued documents to Stripe exactly once.

A push is a reconciliation, not a replay. Stripe keeps an idempotency key about 24 hours, so a
re-run the next day (after a crash, a failed step, a holiday) cannot lean on keys alone:
1. read what Stripe already holds for the document: the tenant's customer (as recorded by an earlier
   push, else searched by metadata, else listed, because search lags creation), the document's
   invoice among the customer's invoices, its items by our line number, or a credit note among
   those of the invoice it corrects;
2. create only what is missing; every mutating call still carries an idempotency key derived from
   (document, line, action), as the second line of defence against a lost answer;
3. compare Stripe's draft total with ours before finalizing: a mismatch is refused and the draft
   left for inspection, named in the error; an invoice is finalized only when the totals agree.
A result Stripe saved for a key (an error replayed for it, a 5xx it may have saved, the key reused
with other parameters) is never retried blindly: Stripe's state is read again and, if the action is
still needed, it is done once more under a fresh key.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import stripe

from billing_assets.revenue.invoicing.documents import PAYMENT_TERMS_DAYS, Document, DocumentType
from billing_assets.secrets import checked_secret, redact

PAYMENT_NAMESPACE = uuid.UUID("c4a9e2f1-7b3d-4c58-a6e0-1f2d3b4c5e6a")  # payment ids: uuid5 of the Stripe invoice
ALREADY_FINAL = {"invoice_already_finalized", "invoice_not_editable"}
PAGE = {"limit": 100}
T = TypeVar("T")


class PushRefused(Exception):
    """Stripe holds this document differently from us, or it cannot go yet: a person decides. The
    message says why; the caller names the document."""


@dataclass(frozen=True)
class Pushed:
    invoice_id: str
    stripe_customer_id: str
    stripe_object_id: str
    object_type: str


def idempotency_key(invoice_id: str, line: str | int, action: str) -> str:
    return f"billing_assets/{invoice_id}/{line}/{action}"


def make_client(api_key: str, api_base: str, timeout_s: float = 30.0, retries: int = 3) -> stripe.StripeClient:
    """The key is checked first (SecretError names STRIPE_API_KEY, never its value)."""
    return stripe.StripeClient(checked_secret("STRIPE_API_KEY", api_key), base_addresses={"api": api_base},
                               max_network_retries=retries, http_client=stripe.RequestsClient(timeout=timeout_s))


PERMANENT_STRIPE_ERRORS = (stripe.AuthenticationError, stripe.PermissionError, stripe.InvalidRequestError,
                           stripe.CardError, stripe.IdempotencyError)
ACCOUNT_ERRORS = (stripe.AuthenticationError, stripe.PermissionError)


def is_permanent(exc: Exception) -> bool:
    """401, 403, 400/404 and idempotency conflicts never heal by retrying; 429, 5xx and network errors may."""
    return isinstance(exc, (PushRefused, *PERMANENT_STRIPE_ERRORS))


def stripe_message(exc: Exception, api_key: str | None) -> str:
    """What Stripe said, with the key and anything credential-shaped removed."""
    if isinstance(exc, PushRefused):
        return redact(str(exc), api_key)
    status = getattr(exc, "http_status", None)
    text = getattr(exc, "user_message", None) or str(exc)
    return redact(f"Stripe {type(exc).__name__}" + (f" (HTTP {status})" if status else "") + f": {text}", api_key)


def saved_for_key(exc: stripe.StripeError) -> bool:
    """Stripe saves the first result of any request that started executing, errors included, and
    replays it for the key; a key reused with other parameters is refused. Either way, retrying
    under the same key can never succeed."""
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return (isinstance(exc, stripe.IdempotencyError) or headers.get("idempotent-replayed") == "true"
            or (exc.http_status or 0) >= 500 or exc.code in ALREADY_FINAL)


def once(act: Callable[[dict], T], key: str, find: Callable[[], T | None]) -> T:
    """Do `act` under `key`; if Stripe answers with a result saved for that key, read its state
    again (`find`) and act once more under a fresh key only if the object is still missing."""
    try:
        return act({"idempotency_key": key})
    except stripe.StripeError as exc:
        if not saved_for_key(exc):
            raise
    found = find()
    if found is not None:
        return found
    return act({"idempotency_key": f"{key}/fresh-{uuid.uuid4().hex}"})


def find_customer(client: stripe.StripeClient, tenant_id: str, email: str | None) -> str | None:
    """Search first (one call); search lags creation by seconds (up to an hour in an incident), so
    a miss is confirmed by a consistent list: the customers with the tenant's billing email, or
    every customer when the tenant has none (rare, and only until the first push is recorded)."""
    found = client.v1.customers.search({"query": f"metadata['tenant_id']:'{tenant_id}'", "limit": 1}).data
    if found:
        return found[0].id
    listing = client.v1.customers.list({**PAGE, **({"email": email} if email else {})})
    return next((c.id for c in listing.auto_paging_iter() if getattr(c.metadata, "tenant_id", None) == tenant_id), None)


def ensure_customer(client: stripe.StripeClient, doc: Document, email: str | None, known: str | None) -> str:
    tenant = doc.tenant
    if known:
        return known
    found = find_customer(client, tenant.tenant_id, email)
    if found:
        return found
    params = {"name": tenant.name, "email": email or "",
              "metadata": {"tenant_id": tenant.tenant_id, "slug": tenant.slug}}
    return once(lambda options: client.v1.customers.create(params, options).id,
                idempotency_key(tenant.tenant_id, "-", "customer"),
                lambda: find_customer(client, tenant.tenant_id, email))


def find_invoice(client: stripe.StripeClient, customer: str, invoice_id: str) -> stripe.Invoice | None:
    """The customer's invoices are listed (consistent, unlike search); a deleted draft is not among them."""
    listing = client.v1.invoices.list({**PAGE, "customer": customer})
    return next((i for i in listing.auto_paging_iter() if getattr(i.metadata, "invoice_id", None) == invoice_id), None)


def items_by_line(client: stripe.StripeClient, stripe_invoice: str, invoice_id: str) -> dict[str | None, list]:
    """The draft's items under our line numbers (None: an item that is not one of ours)."""
    held: dict[str | None, list] = defaultdict(list)
    for item in client.v1.invoice_items.list({**PAGE, "invoice": stripe_invoice}).auto_paging_iter():
        ours = getattr(item.metadata, "invoice_id", None) == invoice_id
        held[getattr(item.metadata, "line_number", None) if ours else None].append(item)
    return held


def _held_differently(held: dict[str | None, list], doc: Document) -> str:
    expected = {str(n): line.amount for n, line in enumerate(doc.lines, start=1) if line.amount}
    notes = [f"line {n} held {len(items)}x" for n, items in held.items() if n and len(items) > 1]
    notes += [f"line {n} missing" for n in expected if n not in held]
    notes += [f"line {n} amount {items[0].amount}, ours {expected.get(n)}" for n, items in held.items()
              if n and len(items) == 1 and items[0].amount != expected.get(n)]
    notes += [f"{len(held[None])} item(s) not ours"] if held.get(None) else []
    return "; ".join(notes) or "items agree line by line"


def push_invoice(client: stripe.StripeClient, doc: Document, customer: str) -> stripe.Invoice:
    """An invoice or supplementary invoice becomes a finalized Stripe invoice with one item per line
    (tax and credits included, so Stripe's total equals ours to the cent)."""
    currency = doc.currency.lower()
    invoice = find_invoice(client, customer, doc.invoice_id) or once(
        lambda options: client.v1.invoices.create({
            "customer": customer, "currency": currency, "collection_method": "send_invoice",
            "days_until_due": PAYMENT_TERMS_DAYS, "auto_advance": False, "pending_invoice_items_behavior": "exclude",
            "description": doc.invoice_number,
            "metadata": {"invoice_id": doc.invoice_id, "invoice_number": doc.invoice_number,
                         "tenant_id": doc.tenant.tenant_id}}, options),
        idempotency_key(doc.invoice_id, "-", "invoice"), lambda: find_invoice(client, customer, doc.invoice_id))
    if invoice.status == "draft":
        held = items_by_line(client, invoice.id, doc.invoice_id)
        for number, line in enumerate(doc.lines, start=1):
            if not line.amount or str(number) in held:
                continue
            params = {"customer": customer, "invoice": invoice.id, "amount": line.amount, "currency": currency,
                      "description": line.description[:500],
                      "metadata": {"invoice_id": doc.invoice_id, "line_number": str(number), "kind": line.kind}}
            once(lambda options, p=params: client.v1.invoice_items.create(p, options),
                 idempotency_key(doc.invoice_id, number, "item"),
                 lambda n=str(number): (items_by_line(client, invoice.id, doc.invoice_id).get(n) or [None])[0])
        invoice = client.v1.invoices.retrieve(invoice.id)
        if invoice.status == "draft" and invoice.total != doc.total:
            raise PushRefused(
                f"Stripe's draft {invoice.id} totals {invoice.total}, ours {doc.total} "
                f"({_held_differently(items_by_line(client, invoice.id, doc.invoice_id), doc)}); not finalized, "
                "the draft is left in Stripe for inspection")
        if invoice.status == "draft":
            invoice = once(lambda options: client.v1.invoices.finalize_invoice(invoice.id, {"auto_advance": False},
                                                                               options),
                           idempotency_key(doc.invoice_id, "-", "finalize"),
                           lambda: _finalized(client.v1.invoices.retrieve(invoice.id)))
    if invoice.total != doc.total:
        raise PushRefused(f"Stripe's {invoice.status} invoice {invoice.id} totals "
                          f"{invoice.total}, ours {doc.total}; it is final in Stripe, so a person must void it there "
                          "(and delete nothing here) before the document can be pushed again")
    return invoice


def _finalized(invoice: stripe.Invoice) -> stripe.Invoice | None:
    return None if invoice.status == "draft" else invoice


def find_credit_note(client: stripe.StripeClient, stripe_invoice: str, invoice_id: str) -> stripe.CreditNote | None:
    listing = client.v1.credit_notes.list({**PAGE, "invoice": stripe_invoice})
    return next((n for n in listing.auto_paging_iter() if getattr(n.metadata, "invoice_id", None) == invoice_id), None)


def push_credit_note(client: stripe.StripeClient, doc: Document, original: stripe.Invoice) -> stripe.CreditNote:
    """A credit note against the original's Stripe invoice. The part of it beyond what the invoice
    still owes (it was paid, in whole or in part) is credited to the tenant's Stripe balance, which
    Stripe applies to their next invoice: our ledger keeps the same credit in their receivable.
    *Choice*: `credit_amount`; the alternative, `refund_amount`, would pay it back to the card."""
    amount = -doc.total
    post_payment = max(0, amount - original.amount_remaining)
    params = {"invoice": original.id, "memo": doc.invoice_number,
              "metadata": {"invoice_id": doc.invoice_id, "invoice_number": doc.invoice_number},
              "lines": [{"type": "custom_line_item", "description": line.description[:500], "quantity": 1,
                         "unit_amount": -line.amount} for line in doc.lines if line.amount],
              **({"credit_amount": post_payment} if post_payment else {})}
    find = lambda: find_credit_note(client, original.id, doc.invoice_id)  # noqa: E731
    note = find() or once(lambda options: client.v1.credit_notes.create(params, options),
                          idempotency_key(doc.invoice_id, "-", "credit_note"), find)
    if note.total != amount:
        raise PushRefused(f"Stripe's credit note {note.id} totals {note.total}, ours {amount}")
    return note


def push_document(client: stripe.StripeClient, doc: Document, email: str | None,
                  original_stripe_invoice: str | None = None, known_customer: str | None = None) -> Pushed:
    """One issued document reconciled into Stripe: found if there, completed if part-made, created if not."""
    if doc.document_type == DocumentType.CREDIT_NOTE:
        if not original_stripe_invoice:
            raise PushRefused("the invoice it corrects is not in Stripe yet (it is pushed "
                              "first; if it failed, this follows once it goes through)")
        original = client.v1.invoices.retrieve(original_stripe_invoice)
        note = push_credit_note(client, doc, original)
        return Pushed(doc.invoice_id, original.customer, note.id, "credit_note")
    customer = ensure_customer(client, doc, email, known_customer)
    return Pushed(doc.invoice_id, customer, push_invoice(client, doc, customer).id, "invoice")
