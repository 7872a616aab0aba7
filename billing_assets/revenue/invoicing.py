"""From warehouse rows to quote-engine inputs, and from quotes to invoice documents.

`load_tenant_inputs` reads staging + metered usage for one period; `plan_documents` decides, per
tenant, what the run does (create, recompute, leave unchanged, skip issued, correct); the asset
writes the result in one transaction. Issued rows are never rewritten: a change of inputs after
issue becomes a credit note or supplementary invoice holding only the delta.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from billing_assets.money import canonical
from billing_assets.periods import Period, aware
from billing_assets.revenue.rating import (
    AddOn,
    AvailableCredit,
    Phase,
    PlanVersion,
    Quote,
    RatedLine,
    Subscription,
    Tier,
    UsageCharge,
    correction,
    quote,
    subtotal_of,
    tax_of,
)
from billing_assets.revenue.tax import tax_rate_for

INVOICE_NAMESPACE = uuid.UUID("0c5b2a7e-9d1f-4e57-8a3c-6b2f1d9e4a70")


class InvoicingError(ValueError):
    """Inputs that cannot be invoiced; the message names the tenant, subscription or period."""


@dataclass(frozen=True)
class Tenant:
    tenant_id: str
    slug: str
    name: str
    currency: str
    tax_jurisdiction: str
    segment: str
    is_internal: bool


@dataclass
class TenantInputs:
    tenant: Tenant
    subscriptions: list[tuple[Subscription, dict[str, int]]] = field(default_factory=list)
    credits: list[AvailableCredit] = field(default_factory=list)



def load_catalogue(conn) -> dict[str, PlanVersion]:
    tiers: dict[tuple[str, str], list[Tier]] = {}
    for version_id, metric, up_to, unit, flat in conn.execute(
            "SELECT plan_version_id, metric, up_to, unit_amount_decimal, flat_amount_minor "
            "FROM staging.plan_version_charge_tiers ORDER BY plan_version_id, metric, tier_index").fetchall():
        tiers.setdefault((version_id, metric), []).append(Tier(up_to, Decimal(unit), flat))
    charges: dict[str, list[UsageCharge]] = {}
    for version_id, metric, model, included, unit, size, package in conn.execute(
            "SELECT plan_version_id, metric, charge_model, included_quantity, unit_amount_decimal, package_size, "
            "package_amount_minor FROM staging.plan_version_charges ORDER BY plan_version_id, metric").fetchall():
        charges.setdefault(version_id, []).append(UsageCharge(
            metric=metric, charge_model=model, included_quantity=included,
            unit_amount=Decimal(unit) if unit is not None else None, package_size=size, package_amount=package,
            tiers=tuple(tiers.get((version_id, metric), ()))))
    return {
        vid: PlanVersion(vid, code, version, currency, base, minimum, tuple(charges.get(vid, ())), allowance)
        for vid, code, version, currency, base, minimum, allowance in conn.execute(
            "SELECT v.plan_version_id, p.code, v.version, v.currency, v.base_fee_minor, v.minimum_commitment_minor, "
            "v.monthly_free_credit_minor FROM staging.plan_versions v JOIN staging.plans p USING (plan_id)").fetchall()
    }


def load_credits(conn, period: Period) -> dict[str, list[AvailableCredit]]:
    """Credits usable in `period` per tenant: free monthly allowances in full, promotional grants with
    what earlier periods' documents (any status but void) have not consumed yet."""
    start, end = period.start.replace(tzinfo=None), period.end.replace(tzinfo=None)
    out: dict[str, list[AvailableCredit]] = {}
    for grant_id, tenant_id, kind, amount, currency, expires, deployment_id, reason, consumed in conn.execute(
            "SELECT g.credit_grant_id, g.tenant_id, g.kind, g.amount_minor, g.currency, g.expires_at, g.deployment_id, "
            "g.reason, coalesce(-sum(l.amount_minor) FILTER (WHERE i.period_start < ?), 0) FROM staging.credit_grants g "
            "LEFT JOIN revenue.tenant_invoice_lines l ON l.credit_grant_id = g.credit_grant_id AND l.kind = 'credit' "
            "LEFT JOIN revenue.tenant_invoices i ON i.invoice_id = l.invoice_id AND i.status <> 'void' "
            "WHERE g.effective_from < ? AND (g.expires_at IS NULL OR g.expires_at > ?) "
            "GROUP BY ALL ORDER BY g.credit_grant_id", [start, end, start]).fetchall():
        available = amount if kind == "free_monthly" else amount - int(consumed)
        if available > 0:
            out.setdefault(tenant_id, []).append(AvailableCredit(
                grant_id, kind, f"{reason} ({kind.replace('_', ' ')})", currency, available, aware(expires),
                deployment_id))
    return out


def load_tenant_inputs(conn, period: Period) -> dict[str, TenantInputs]:
    """Every tenant with the subscriptions that overlap `period`, with the period's usage."""
    start, end = period.start.replace(tzinfo=None), period.end.replace(tzinfo=None)
    catalogue = load_catalogue(conn)
    tenants = {row[0]: TenantInputs(Tenant(*row)) for row in conn.execute(
        "SELECT tenant_id, slug, name, currency, tax_jurisdiction, segment, is_internal FROM staging.tenants "
        "ORDER BY tenant_id").fetchall()}
    phases: dict[str, list[Phase]] = {}
    for sub_id, version_id, eff_from, eff_to in conn.execute(
            "SELECT subscription_id, plan_version_id, effective_from, effective_to FROM staging.subscription_phases "
            "ORDER BY subscription_id, effective_from").fetchall():
        if version_id not in catalogue:
            raise InvoicingError(f"subscription {sub_id}: plan version {version_id} is not in the catalogue")
        phases.setdefault(sub_id, []).append(Phase(catalogue[version_id], aware(eff_from), aware(eff_to)))
    add_ons: dict[str, list[AddOn]] = {}
    for sub_id, code, name, price, qty, attached, detached in conn.execute(
            "SELECT sa.subscription_id, a.code, a.name, sa.unit_price_minor, sa.quantity, sa.attached_at, "
            "sa.detached_at FROM staging.subscription_add_ons sa JOIN staging.add_ons a USING (add_on_id)").fetchall():
        add_ons.setdefault(sub_id, []).append(AddOn(code, name, price, qty, aware(attached), aware(detached)))
    for tenant_id, credits in load_credits(conn, period).items():
        if tenant_id in tenants:
            tenants[tenant_id].credits = credits
    usage: dict[str, dict[str, int]] = {}
    for deployment_id, metric, quantity in conn.execute(
            "SELECT deployment_id, metric, quantity + late_quantity FROM revenue.metered_usage "
            "WHERE period_start = ?", [start]).fetchall():
        usage.setdefault(deployment_id, {})[metric] = int(quantity)
    for row in conn.execute(
            "SELECT s.subscription_id, s.deployment_id, d.slug, d.tenant_id, s.started_at, s.trial_ends_at, "
            "s.canceled_at FROM staging.subscriptions s JOIN staging.deployments d USING (deployment_id) "
            "WHERE s.started_at < ? AND (s.canceled_at IS NULL OR s.canceled_at > ?) ORDER BY s.subscription_id",
            [end, start]).fetchall():
        sub_id, deployment_id, slug, tenant_id, started, trial_end, canceled = row
        if tenant_id not in tenants:
            raise InvoicingError(f"subscription {sub_id}: deployment {slug} belongs to unknown tenant {tenant_id}")
        sub = Subscription(sub_id, deployment_id, slug, aware(started), tuple(phases.get(sub_id, ())),
                           tuple(add_ons.get(sub_id, ())), aware(trial_end), aware(canceled))
        tenants[tenant_id].subscriptions.append((sub, usage.get(deployment_id, {})))
    return tenants


def quote_tenant(inputs: TenantInputs, period: Period) -> Quote:
    tenant = inputs.tenant
    rate = tax_rate_for(tenant.tax_jurisdiction, period)
    try:
        return quote(tenant.currency, period, inputs.subscriptions, rate.rate, rate.label,
                     inputs.credits if inputs.subscriptions else [])
    except ValueError as exc:
        raise InvoicingError(f"tenant {tenant.slug} ({tenant.tenant_id}), {period.label}: {exc}") from exc


# --- documents ----------------------------------------------------------------------------------

def invoice_id(tenant_id: str, period: Period, seq: int) -> str:
    return str(uuid.uuid5(INVOICE_NAMESPACE, f"{tenant_id}/{period.start:%Y-%m}/{seq}"))


def invoice_number(tenant: Tenant, period: Period, seq: int, document_type: str) -> str:
    prefix = {"invoice": "INV", "credit_note": "CN", "supplementary_invoice": "SUP"}[document_type]
    suffix = f"-{seq}" if seq else ""
    return f"{prefix}-{period.start:%Y%m}-{tenant.slug.upper()}{suffix}"


@dataclass
class Document:
    invoice_id: str
    invoice_number: str
    tenant: Tenant
    period: Period
    document_type: str
    correction_seq: int
    corrects_invoice_id: str | None
    currency: str
    tax_rate: Decimal
    tax_label: str
    lines: list[RatedLine]

    @property
    def subtotal(self) -> int:
        return subtotal_of(self.lines)

    @property
    def tax(self) -> int:
        return tax_of(self.lines)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax

    def line_rows(self) -> list[dict]:
        rows = []
        for number, line in enumerate(self.lines, start=1):
            rows.append({
                "invoice_id": self.invoice_id, "line_number": number,
                "line_id": str(uuid.uuid5(INVOICE_NAMESPACE, f"{self.invoice_id}/{number}")),
                "kind": line.kind, "description": line.description, "tenant_id": self.tenant.tenant_id,
                "deployment_id": line.deployment_id, "subscription_id": line.subscription_id,
                "metric": line.metric, "add_on_code": line.add_on_code, "plan_version_id": line.plan_version_id,
                "credit_grant_id": line.credit_grant_id, "quantity": line.quantity,
                "unit_amount_minor": line.unit_amount, "amount_minor": line.amount, "tax_rate": line.tax_rate,
                "service_start": line.service_start.replace(tzinfo=None) if line.service_start else None,
                "service_end": line.service_end.replace(tzinfo=None) if line.service_end else None,
            })
        return rows

    @property
    def content_sha256(self) -> str:
        """Hash of everything a customer sees, so an issued document can be proven unchanged."""
        header = [self.invoice_id, self.invoice_number, self.document_type, self.currency, self.subtotal, self.tax,
                  self.total, canonical(self.tax_rate)]
        body = [[canonical(v) for k, v in row.items() if k != "line_id"] for row in self.line_rows()]
        return hashlib.sha256(json.dumps([header, body]).encode()).hexdigest()


def document_from_quote(tenant: Tenant, q: Quote, seq: int = 0, corrects: str | None = None,
                        lines: list[RatedLine] | None = None) -> Document:
    lines = list(q.lines if lines is None else lines)
    doc_type = "invoice"
    if seq:
        doc_type = "credit_note" if sum(line.amount for line in lines) < 0 else "supplementary_invoice"
    return Document(invoice_id(tenant.tenant_id, q.period, seq), invoice_number(tenant, q.period, seq, doc_type),
                    tenant, q.period, doc_type, seq, corrects, q.currency, q.tax_rate, q.tax_label, lines)


@dataclass(frozen=True)
class ExistingDocument:
    invoice_id: str
    correction_seq: int
    status: str
    content_sha256: str
    lines: tuple[RatedLine, ...]


@dataclass
class TenantPlan:
    tenant: Tenant
    outcome: str            # created | recomputed | unchanged | skipped-issued | corrected | excluded | no-charges
    write: Document | None = None
    replaces_draft: str | None = None
    reason: str | None = None


def plan_documents(tenant: Tenant, q: Quote, existing: list[ExistingDocument], force: bool) -> TenantPlan:
    """Decide what this run does for one tenant and period (pure)."""
    original = next((d for d in existing if d.correction_seq == 0), None)
    if original is None:
        if not any(line.kind != "tax" for line in q.lines):
            return TenantPlan(tenant, "no-charges")
        return TenantPlan(tenant, "created", document_from_quote(tenant, q))
    if original.status == "draft":
        doc = document_from_quote(tenant, q)
        if doc.content_sha256 == original.content_sha256 and not force:
            return TenantPlan(tenant, "unchanged")
        return TenantPlan(tenant, "recomputed", doc, replaces_draft=original.invoice_id)
    # The original is issued (or paid/void): never touch it; bill any difference as a correction.
    billed = [line for d in existing if d.status != "draft" for line in d.lines]
    draft_correction = next((d for d in existing if d.correction_seq and d.status == "draft"), None)
    delta = correction(billed, q)
    if not delta:
        if draft_correction:  # inputs went back to what was issued: the pending correction is void
            return TenantPlan(tenant, "skipped-issued", replaces_draft=draft_correction.invoice_id)
        return TenantPlan(tenant, "skipped-issued")
    seq = draft_correction.correction_seq if draft_correction else max(d.correction_seq for d in existing) + 1
    doc = document_from_quote(tenant, q, seq, corrects=original.invoice_id, lines=delta)
    if draft_correction and doc.content_sha256 == draft_correction.content_sha256 and not force:
        return TenantPlan(tenant, "unchanged")
    return TenantPlan(tenant, "corrected", doc,
                      replaces_draft=draft_correction.invoice_id if draft_correction else None)
