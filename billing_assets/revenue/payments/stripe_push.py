"""Pushing issued documents to Stripe exactly once, and reading back what was collected.

Exactly once, even across crashes and retries:
- every mutating call carries an idempotency key derived from (invoice id, line, action), so a
  retried request (the SDK's own network retries, or a re-run within Stripe's 24 h key window)
  returns the first response instead of acting twice;
- before creating a customer or an invoice, Stripe is searched by our metadata (tenant_id,
  invoice_id), so a re-run after the key window still finds what an earlier run created;
- the Stripe ids are recorded in the warehouse only after the document is finalized; a recorded
  document is never pushed again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import stripe

from billing_assets.revenue.invoicing.documents import Document, DocumentType
from billing_assets.secrets import checked_secret, redact

PAYMENT_NAMESPACE = uuid.UUID("c4a9e2f1-7b3d-4c58-a6e0-1f2d3b4c5e6a")  # payment ids: uuid5 of the Stripe invoice


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


def is_permanent(exc: Exception) -> bool:
    """401, 403, 400/404 and idempotency conflicts never heal by retrying; 429, 5xx and network errors may."""
    return isinstance(exc, PERMANENT_STRIPE_ERRORS)


def stripe_message(exc: Exception, api_key: str | None) -> str:
    """What Stripe said, with the key and anything credential-shaped removed."""
    status = getattr(exc, "http_status", None)
    text = getattr(exc, "user_message", None) or str(exc)
    return redact(f"Stripe {type(exc).__name__}" + (f" (HTTP {status})" if status else "") + f": {text}", api_key)


def _options(invoice_id: str, line: str | int, action: str) -> dict:
    return {"idempotency_key": idempotency_key(invoice_id, line, action)}


def find_or_create_customer(client: stripe.StripeClient, doc: Document, email: str | None) -> str:
    tenant = doc.tenant
    found = client.v1.customers.search({"query": f"metadata['tenant_id']:'{tenant.tenant_id}'", "limit": 1})
    if found.data:
        return found.data[0].id
    customer = client.v1.customers.create(
        {"name": tenant.name, "email": email or "", "metadata": {"tenant_id": tenant.tenant_id, "slug": tenant.slug}},
        _options(tenant.tenant_id, "-", "customer"))
    return customer.id


def push_document(client: stripe.StripeClient, doc: Document, email: str | None,
                  original_stripe_invoice: str | None = None) -> Pushed:
    """An invoice or supplementary invoice becomes a finalized Stripe invoice with one item per line
    (tax and credits included, so Stripe's total equals ours to the cent); a credit note becomes a
    Stripe credit note against the original's Stripe invoice."""
    customer = find_or_create_customer(client, doc, email)
    if doc.document_type == DocumentType.CREDIT_NOTE:
        if not original_stripe_invoice:
            raise ValueError(f"{doc.invoice_number}: the invoice it corrects was never pushed to Stripe")
        note = client.v1.credit_notes.create({
            "invoice": original_stripe_invoice, "memo": doc.invoice_number,
            "metadata": {"invoice_id": doc.invoice_id, "invoice_number": doc.invoice_number},
            "lines": [{"type": "custom_line_item", "description": line.description[:500], "quantity": 1,
                       "unit_amount": -line.amount} for line in doc.lines if line.amount],
        }, _options(doc.invoice_id, "-", "credit_note"))
        return Pushed(doc.invoice_id, customer, note.id, "credit_note")
    existing = client.v1.invoices.search({"query": f"metadata['invoice_id']:'{doc.invoice_id}'", "limit": 1})
    invoice = existing.data[0] if existing.data else client.v1.invoices.create({
        "customer": customer, "currency": doc.currency.lower(), "collection_method": "send_invoice",
        "days_until_due": 14, "auto_advance": False, "pending_invoice_items_behavior": "exclude",
        "description": doc.invoice_number,
        "metadata": {"invoice_id": doc.invoice_id, "invoice_number": doc.invoice_number,
                     "tenant_id": doc.tenant.tenant_id},
    }, _options(doc.invoice_id, "-", "invoice"))
    if invoice.status == "draft":
        for number, line in enumerate(doc.lines, start=1):
            if not line.amount:
                continue
            client.v1.invoice_items.create({
                "customer": customer, "invoice": invoice.id, "amount": line.amount, "currency": doc.currency.lower(),
                "description": line.description[:500],
                "metadata": {"invoice_id": doc.invoice_id, "line_number": str(number), "kind": line.kind},
            }, _options(doc.invoice_id, number, "item"))
        invoice = client.v1.invoices.finalize_invoice(invoice.id, {"auto_advance": False},
                                                      _options(doc.invoice_id, "-", "finalize"))
    if invoice.total != doc.total:
        raise ValueError(f"{doc.invoice_number}: Stripe total {invoice.total} differs from ours {doc.total}")
    return Pushed(doc.invoice_id, customer, invoice.id, "invoice")
