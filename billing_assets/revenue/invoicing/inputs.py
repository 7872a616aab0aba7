"""From warehouse rows to quote-engine inputs: the catalogue, credits, subscriptions and usage of a period.

`load_tenant_inputs` reads staging + metered usage for one period in a handful of queries; the quote
engine (rating.py) does the arithmetic; `quote_tenant` names the tenant in any error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from billing_assets.periods import Period, aware, month_period
from billing_assets.revenue.invoicing.documents import Tenant
from billing_assets.revenue.invoicing.rating import (
    AddOn,
    AvailableCredit,
    CreditKind,
    LateUsage,
    Phase,
    PlanVersion,
    Quote,
    Subscription,
    SubscriptionUsage,
    Tier,
    UsageCharge,
    UsageKey,
    quote,
)
from billing_assets.sql_files import read_sql
from billing_assets.tax import tax_rate_for


class InvoicingError(ValueError):
    """Inputs that cannot be invoiced; the message names the tenant, subscription or period."""


@dataclass
class TenantInputs:
    tenant: Tenant
    subscriptions: list[SubscriptionUsage] = field(default_factory=list)
    credits: list[AvailableCredit] = field(default_factory=list)


def load_catalogue(conn) -> dict[str, PlanVersion]:
    tiers: dict[tuple[str, str], list[Tier]] = {}
    for version_id, metric, up_to, unit, flat in conn.execute(
            "SELECT plan_version_id, metric, up_to, unit_amount_decimal, flat_amount_minor "
            "FROM staging.plan_version_charge_tiers ORDER BY plan_version_id, metric, tier_index").fetchall():
        tiers.setdefault((version_id, metric), []).append(Tier(up_to, Decimal(unit), flat))
    charges: dict[str, list[UsageCharge]] = {}
    for version_id, metric, model, included, unit, size, package, prorated in conn.execute(
            "SELECT plan_version_id, metric, charge_model, included_quantity, unit_amount_decimal, package_size, "
            "package_amount_minor, coalesce(included_quantity_prorated, TRUE) FROM staging.plan_version_charges "
            "ORDER BY plan_version_id, metric").fetchall():
        charges.setdefault(version_id, []).append(UsageCharge(
            metric=metric, charge_model=model, included_quantity=included,
            unit_amount=Decimal(unit) if unit is not None else None, package_size=size, package_amount=package,
            tiers=tuple(tiers.get((version_id, metric), ())), included_quantity_prorated=bool(prorated)))
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
        available = amount if kind == CreditKind.FREE_MONTHLY else amount - int(consumed)
        if available > 0:
            out.setdefault(tenant_id, []).append(AvailableCredit(
                grant_id, kind, f"{reason} ({kind.replace('_', ' ')})", currency, available, aware(expires),
                deployment_id))
    return out


@dataclass
class BilledUsage:
    """What revenue.billable_usage says one invoice bills for one subscription."""

    on_time: dict[UsageKey, int] = field(default_factory=dict)
    late: dict[tuple[datetime, str], dict[datetime, int]] = field(default_factory=dict)   # (period, metric)
    prior: dict[tuple[datetime, str], dict[datetime, int]] = field(default_factory=dict)  # -> phase -> qty

    def late_usage(self) -> tuple[LateUsage, ...]:
        return tuple(LateUsage(month_period(o.year, o.month), metric, quantity, self.prior.get((o, metric), {}))
                     for (o, metric), quantity in sorted(self.late.items()))


def load_billed_usage(conn, period: Period) -> dict[str, BilledUsage]:
    """Per subscription: the period's on-time usage per (phase, metric), the late usage of earlier
    periods billed now, and what earlier invoices already billed for those periods (the margin)."""
    start = period.start.replace(tzinfo=None)
    out: dict[str, BilledUsage] = {}
    for sub_id, usage_start, phase_start, metric, quantity, prior in conn.execute(
            read_sql("invoicing/billed_usage.sql"), {"period_start": start}).fetchall():
        billed = out.setdefault(sub_id, BilledUsage())
        phase = aware(phase_start)
        if usage_start == start:
            billed.on_time[(phase, metric)] = int(quantity)
            continue
        original = (aware(usage_start), metric)
        if quantity:
            billed.late.setdefault(original, {})[phase] = int(quantity)
        if prior:
            billed.prior.setdefault(original, {})[phase] = int(prior)
    return out


def refused_tenants(conn) -> dict[str, str]:
    """Tenants with a source row the snapshot refused (staging.source_rejections), and what was refused:
    they are not invoiced until the source is fixed, never invoiced on partial inputs."""
    return dict(conn.execute(
        "SELECT tenant_id, string_agg(DISTINCT table_name || ' ' || primary_key || ' ' || column_name || ': ' "
        "|| reason, '; ' ORDER BY table_name || ' ' || primary_key || ' ' || column_name || ': ' || reason) "
        "FROM staging.source_rejections WHERE tenant_id IS NOT NULL GROUP BY 1 ORDER BY 1").fetchall())


def load_tenant_inputs(conn, period: Period) -> dict[str, TenantInputs]:
    """Every tenant with the subscriptions that overlap `period` or have late usage billed in it.
    Subscriptions of a tenant whose own row was refused by the snapshot are left out with it."""
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
    billed = load_billed_usage(conn, period)
    refused = refused_tenants(conn)
    for row in conn.execute(
            "SELECT s.subscription_id, s.deployment_id, d.slug, d.tenant_id, s.started_at, s.trial_ends_at, "
            "s.canceled_at FROM staging.subscriptions s JOIN staging.deployments d USING (deployment_id) "
            "WHERE (s.started_at < ? AND (s.canceled_at IS NULL OR s.canceled_at > ?)) "
            "OR s.subscription_id IN (SELECT unnest(?)) ORDER BY s.subscription_id",
            [end, start, sorted(sub_id for sub_id, b in billed.items() if b.late)]).fetchall():
        sub_id, deployment_id, slug, tenant_id, started, trial_end, canceled = row
        if tenant_id not in tenants and tenant_id in refused:
            continue
        if tenant_id not in tenants:
            raise InvoicingError(f"subscription {sub_id}: deployment {slug} belongs to unknown tenant {tenant_id}")
        sub = Subscription(sub_id, deployment_id, slug, aware(started), tuple(phases.get(sub_id, ())),
                           tuple(add_ons.get(sub_id, ())), aware(trial_end), aware(canceled))
        usage = billed.get(sub_id, BilledUsage())
        tenants[tenant_id].subscriptions.append(SubscriptionUsage(sub, usage.on_time, usage.late_usage()))
    return tenants


def quote_tenant(inputs: TenantInputs, period: Period) -> Quote:
    tenant = inputs.tenant
    rate = tax_rate_for(tenant.tax_jurisdiction, period)
    try:
        return quote(tenant.currency, period, inputs.subscriptions, rate.rate, rate.label,
                     inputs.credits if inputs.subscriptions else [])
    except ValueError as exc:
        raise InvoicingError(f"tenant {tenant.slug} ({tenant.tenant_id}), {period.label}: {exc}") from exc


