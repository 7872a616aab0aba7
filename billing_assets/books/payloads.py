"""What the books receive, as plain values: a DigitalOcean invoice as a payable, a tenant document as a
receivable, and the hash that says whether a pushed document changed.

Pure: no Dagster, no I/O. Amounts stay integer minor units; the finance service takes them as they
are (README "The books" defines both payloads).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

PAYABLE_SOURCE = "digitalocean"
RECEIVABLE_SOURCE = "billing_assets"
VENDOR = {"name": "DigitalOcean", "category": "cloud"}


@dataclass(frozen=True)
class CostLine:
    line_number: int
    product: str
    description: str
    amount_minor: int
    is_tax: bool
    deployment_id: str | None
    deployment_slug: str | None
    tenant_id: str | None


@dataclass(frozen=True)
class Payable:
    """One DigitalOcean invoice of a month, with its lines and what each paid for."""
    invoice_uuid: str
    invoice_id: str | None
    period_start: datetime
    currency: str
    lines: tuple[CostLine, ...]


@dataclass(frozen=True)
class DocumentLine:
    line_number: int
    kind: str
    description: str
    quantity: str
    unit_amount_minor: str | None
    amount_minor: int
    deployment_id: str | None
    tax_rate: str | None


@dataclass(frozen=True)
class Receivable:
    """One issued tenant document (invoice, credit note or supplementary invoice) and its customer."""
    invoice_id: str
    invoice_number: str
    document_type: str
    corrects_invoice_id: str | None
    corrects_invoice_number: str | None
    tenant_id: str
    tenant_slug: str
    tenant_name: str
    billing_email: str | None
    tax_jurisdiction: str
    period_start: datetime
    period_end: datetime
    issued_at: datetime
    currency: str
    subtotal_minor: int
    tax_minor: int
    total_minor: int
    tax_rate: str | None
    tax_label: str | None
    lines: tuple[DocumentLine, ...]


def tax_split(lines: tuple[CostLine, ...]) -> tuple[int, int, int]:
    """(gross, net, tax) in minor units. A line is tax when ingest flagged it (`is_tax`: DigitalOcean's
    product `Taxes`, or a description naming GST or tax, the rule of the original system): where the
    two disagree the line still counts as tax, so neither a relabelled product nor a terse description
    hides GST from the books."""
    gross = sum(line.amount_minor for line in lines)
    tax = sum(line.amount_minor for line in lines if line.is_tax)
    return gross, gross - tax, tax


def payable_payload(payable: Payable) -> dict:
    gross, net, tax = tax_split(payable.lines)
    return {
        "source": PAYABLE_SOURCE,
        "external_id": payable.invoice_uuid,
        "invoice_number": payable.invoice_id,
        "period": f"{payable.period_start:%Y-%m}",
        "currency": payable.currency,
        "gross_minor": gross, "net_minor": net, "tax_minor": tax,
        "vendor": VENDOR,
        "lines": [{"line_number": line.line_number, "product": line.product, "description": line.description,
                   "amount_minor": line.amount_minor, "is_tax": line.is_tax,
                   "deployment_id": line.deployment_id, "deployment_slug": line.deployment_slug,
                   "tenant_id": line.tenant_id} for line in payable.lines],
    }


def receivable_payload(doc: Receivable) -> dict:
    return {
        "source": RECEIVABLE_SOURCE,
        "external_id": doc.invoice_id,
        "document_number": doc.invoice_number,
        "document_type": doc.document_type,
        "corrects_external_id": doc.corrects_invoice_id,
        "customer": {"external_id": doc.tenant_id, "slug": doc.tenant_slug, "name": doc.tenant_name,
                     "email": doc.billing_email, "tax_jurisdiction": doc.tax_jurisdiction},
        "period_start": f"{doc.period_start:%Y-%m-%d}", "period_end": f"{doc.period_end:%Y-%m-%d}",
        "issued_at": doc.issued_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "currency": doc.currency,
        "subtotal_minor": doc.subtotal_minor, "tax_minor": doc.tax_minor, "total_minor": doc.total_minor,
        "tax_rate": doc.tax_rate, "tax_label": doc.tax_label,
        "lines": [{"line_number": line.line_number, "kind": line.kind, "description": line.description,
                   "quantity": line.quantity, "unit_amount_minor": line.unit_amount_minor,
                   "amount_minor": line.amount_minor, "deployment_id": line.deployment_id,
                   "tax_rate": line.tax_rate} for line in doc.lines],
    }


def payload_sha256(payload: dict) -> str:
    """Canonical JSON (sorted keys, no spaces): equal payloads hash alike, whatever built them."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
