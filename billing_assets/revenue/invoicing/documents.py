"""Tenant documents: invoices, credit notes and supplementary invoices built from quotes, and the
pure decision of what a run does per tenant and period (create, recompute, leave unchanged, skip an
issued one, correct it). Issued documents are never rewritten: a change of inputs after issue becomes
a credit note or supplementary invoice holding only the delta.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from functools import cached_property

from billing_assets.ids import stable_id
from billing_assets.money import canonical
from billing_assets.periods import Period
from billing_assets.revenue.invoicing.rating import LineKind, LineTotals, Quote, RatedLine, correction

PAYMENT_TERMS_DAYS = 14  # an issued invoice is due this many days after issue (Stripe and the books)
INVOICE_NAMESPACE = uuid.UUID("0c5b2a7e-9d1f-4e57-8a3c-6b2f1d9e4a70")
# Line fields added after documents were first issued: left out of the content hash while empty, so a
# document issued before they existed still hashes as it did.
ADDED_LINE_FIELDS = {"usage_period_start"}


class DocumentType(StrEnum):
    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"
    SUPPLEMENTARY_INVOICE = "supplementary_invoice"


class InvoiceStatus(StrEnum):
    """draft -> issued -> paid (or void); only a draft may change, and only store.py moves a status."""

    DRAFT = "draft"
    ISSUED = "issued"
    PAID = "paid"
    VOID = "void"


class PlanOutcome(StrEnum):
    """What one run did for one tenant and period."""

    CREATED = "created"
    RECOMPUTED = "recomputed"
    UNCHANGED = "unchanged"
    SKIPPED_ISSUED = "skipped-issued"
    CORRECTED = "corrected"
    EXCLUDED = "excluded"
    NO_CHARGES = "no-charges"


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    slug: str
    name: str
    currency: str
    tax_jurisdiction: str
    segment: str
    is_internal: bool


def invoice_id(tenant_id: str, period: Period, seq: int) -> str:
    return stable_id(INVOICE_NAMESPACE, f"{tenant_id}/{period.start:%Y-%m}/{seq}")


NUMBER_PREFIXES = {DocumentType.INVOICE: "INV", DocumentType.CREDIT_NOTE: "CN", DocumentType.SUPPLEMENTARY_INVOICE: "SUP"}


def number_series(document_type: DocumentType, period_start: datetime) -> str:
    """The counter a document's number is drawn from: one per document type and service month."""
    return f"{NUMBER_PREFIXES[document_type]}-{period_start:%Y%m}"


def document_number(series: str, n: int) -> str:
    """`INV-202604-000001`: distinct for distinct (series, n) whatever the tenants are called, because
    nothing in it comes from a tenant; a drafted document has no number until it is issued."""
    return f"{series}-{n:06d}"


@dataclass(frozen=True)
class Document(LineTotals):
    """One invoice, credit note or supplementary invoice. Frozen, so its rows and hash are computed once
    (a month close hashes every document: at 10,000 tenants recomputing them cost 10 s)."""

    invoice_id: str
    invoice_number: str | None  # None while a draft: numbers are assigned on issue
    tenant: Tenant
    period: Period
    document_type: DocumentType
    correction_seq: int
    corrects_invoice_id: str | None
    currency: str
    tax_rate: Decimal
    tax_label: str
    lines: list[RatedLine]

    def line_rows(self) -> list[dict]:
        return self._line_rows

    @cached_property
    def _line_rows(self) -> list[dict]:
        rows = []
        for number, line in enumerate(self.lines, start=1):
            rows.append({
                "invoice_id": self.invoice_id, "line_number": number,
                "line_id": stable_id(INVOICE_NAMESPACE, f"{self.invoice_id}/{number}"),
                "kind": line.kind, "description": line.description, "tenant_id": self.tenant.tenant_id,
                "deployment_id": line.deployment_id, "subscription_id": line.subscription_id,
                "metric": line.metric, "add_on_code": line.add_on_code, "plan_version_id": line.plan_version_id,
                "credit_grant_id": line.credit_grant_id, "quantity": line.quantity,
                "unit_amount_minor": line.unit_amount, "amount_minor": line.amount, "tax_rate": line.tax_rate,
                "service_start": line.service_start.replace(tzinfo=None) if line.service_start else None,
                "service_end": line.service_end.replace(tzinfo=None) if line.service_end else None,
                "usage_period_start": line.usage_period_start.replace(tzinfo=None) if line.usage_period_start else None,
            })
        return rows

    @cached_property
    def content_sha256(self) -> str:
        """Hash of everything a customer sees, so an issued document can be proven unchanged."""
        header = [self.invoice_id, self.invoice_number, self.document_type, self.currency, self.subtotal, self.tax,
                  self.total, canonical(self.tax_rate)]
        body = [[canonical(v) for k, v in row.items()
                 if k != "line_id" and (k not in ADDED_LINE_FIELDS or v is not None)] for row in self.line_rows()]
        return hashlib.sha256(json.dumps([header, body]).encode()).hexdigest()


def document_from_quote(tenant: Tenant, q: Quote, seq: int = 0, corrects: str | None = None,
                        lines: list[RatedLine] | None = None) -> Document:
    lines = list(q.lines if lines is None else lines)
    doc_type = DocumentType.INVOICE
    if seq:
        doc_type = (DocumentType.CREDIT_NOTE if sum(line.amount for line in lines) < 0
                    else DocumentType.SUPPLEMENTARY_INVOICE)
    return Document(invoice_id(tenant.tenant_id, q.period, seq), None, tenant, q.period, doc_type, seq, corrects,
                    q.currency, q.tax_rate, q.tax_label, lines)


@dataclass(frozen=True)
class ExistingDocument:
    """A stored document as planning needs it: a draft is compared by its hash, so only documents that
    were issued carry their lines (what a correction is computed against)."""

    invoice_id: str
    correction_seq: int
    status: InvoiceStatus
    content_sha256: str
    total: int
    lines: tuple[RatedLine, ...]  # empty for a draft


@dataclass
class TenantPlan:
    tenant: Tenant
    outcome: PlanOutcome
    write: Document | None = None
    replaces_draft: str | None = None
    reason: str | None = None


def plan_documents(tenant: Tenant, q: Quote, existing: list[ExistingDocument], force: bool) -> TenantPlan:
    """Decide what this run does for one tenant and period (pure)."""
    original = next((d for d in existing if d.correction_seq == 0), None)
    if original is None:
        if not any(line.kind != LineKind.TAX for line in q.lines):
            return TenantPlan(tenant, PlanOutcome.NO_CHARGES)
        return TenantPlan(tenant, PlanOutcome.CREATED, document_from_quote(tenant, q))
    if original.status == InvoiceStatus.DRAFT:
        doc = document_from_quote(tenant, q)
        if doc.content_sha256 == original.content_sha256 and not force:
            return TenantPlan(tenant, PlanOutcome.UNCHANGED)
        return TenantPlan(tenant, PlanOutcome.RECOMPUTED, doc, replaces_draft=original.invoice_id)
    # The original is issued (or paid/void): never touch it; bill any difference as a correction.
    billed = [line for d in existing if d.status != InvoiceStatus.DRAFT for line in d.lines]
    draft_correction = next((d for d in existing if d.correction_seq and d.status == InvoiceStatus.DRAFT), None)
    delta = correction(billed, q)
    if not delta:
        if draft_correction:  # inputs went back to what was issued: the pending correction is void
            return TenantPlan(tenant, PlanOutcome.SKIPPED_ISSUED, replaces_draft=draft_correction.invoice_id)
        return TenantPlan(tenant, PlanOutcome.SKIPPED_ISSUED)
    seq = draft_correction.correction_seq if draft_correction else max(d.correction_seq for d in existing) + 1
    doc = document_from_quote(tenant, q, seq, corrects=original.invoice_id, lines=delta)
    if draft_correction and doc.content_sha256 == draft_correction.content_sha256 and not force:
        return TenantPlan(tenant, PlanOutcome.UNCHANGED)
    return TenantPlan(tenant, PlanOutcome.CORRECTED, doc,
                      replaces_draft=draft_correction.invoice_id if draft_correction else None)
