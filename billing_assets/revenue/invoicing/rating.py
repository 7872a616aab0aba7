"""The quote engine: plan version + add-ons + usage + service period -> rated invoice lines.

Pure: plain values in, plain values out; the invoice assets and the preview call the same code.

Rules (README "How invoices are computed" has the long form):
- Amounts are Decimal minor units until a line is finished, then rounded half-up once per line.
- Billable window: the period ∩ [started_at, canceled_at), starting no earlier than the trial's end.
- Base fee and add-ons are prorated by the exact seconds of the billable window they cover,
  split at every plan change; adjacent phases on the same plan version are merged first, so
  splitting a phase in two never changes a cent.
- Usage is rated once per period on the plan version in effect at the end of the billable window,
  with its included quantity granted in full (never prorated). A period with no billable time
  (a whole-month trial) has no usage charges either.
- A minimum commitment tops the subscription's base + usage up to the prorated minimum.
- Credits come off after rating and before tax: monthly free credits first, then promotional
  grants by earliest expiry; they never take an invoice below zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from billing_assets.money import canonical, round_half_up
from billing_assets.periods import Period


class ChargeModel(StrEnum):
    """How a usage charge turns billable units into money (README "How invoices are computed")."""

    PER_UNIT = "per_unit"
    GRADUATED = "graduated"
    VOLUME = "volume"
    PACKAGE = "package"


class LineKind(StrEnum):
    """What an invoice line is for; tax lines are the only ones outside the subtotal."""

    PLAN_BASE = "plan_base"
    ADDON = "addon"
    OVERAGE = "overage"
    MINIMUM_COMMITMENT = "minimum_commitment"
    CREDIT = "credit"
    TAX = "tax"


class CreditKind(StrEnum):
    FREE_MONTHLY = "free_monthly"
    PROMOTIONAL = "promotional"


class RatingError(ValueError):
    """A catalogue or subscription that cannot be rated; the message names what is wrong."""


@dataclass(frozen=True)
class Tier:
    up_to: int | None            # inclusive upper bound of billable units; None = no bound
    unit_amount: Decimal         # minor units per unit
    flat_amount: int = 0         # minor units charged once when the tier is reached


@dataclass(frozen=True)
class UsageCharge:
    metric: str
    charge_model: ChargeModel
    included_quantity: int = 0
    unit_amount: Decimal | None = None
    package_size: int | None = None
    package_amount: int | None = None
    tiers: tuple[Tier, ...] = ()

    def __post_init__(self) -> None:
        where = f"charge for metric {self.metric!r}"
        if self.charge_model not in ChargeModel.__members__.values():
            raise RatingError(f"{where}: unknown charge model {self.charge_model!r}")
        object.__setattr__(self, "charge_model", ChargeModel(self.charge_model))
        if self.charge_model == ChargeModel.PER_UNIT and self.unit_amount is None:
            raise RatingError(f"{where}: per_unit needs unit_amount")
        if self.charge_model == ChargeModel.PACKAGE and (not self.package_size or self.package_amount is None):
            raise RatingError(f"{where}: package needs package_size > 0 and package_amount")
        if self.charge_model in (ChargeModel.GRADUATED, ChargeModel.VOLUME):
            if not self.tiers:
                raise RatingError(f"{where}: {self.charge_model} needs tiers")
            bounds = [t.up_to for t in self.tiers]
            if bounds[-1] is not None or any(b is None for b in bounds[:-1]) or bounds[:-1] != sorted(bounds[:-1]):
                raise RatingError(f"{where}: tiers must ascend and only the last may be unbounded")


@dataclass(frozen=True)
class PlanVersion:
    plan_version_id: str
    plan_code: str
    version: int
    currency: str
    base_fee: int
    minimum_commitment: int = 0
    charges: tuple[UsageCharge, ...] = ()
    monthly_free_credit: int = 0  # an allowance per subscription and period, never rolled over

    @property
    def label(self) -> str:
        return f"{self.plan_code} v{self.version}"


@dataclass(frozen=True)
class Phase:
    plan_version: PlanVersion
    start: datetime
    end: datetime | None


@dataclass(frozen=True)
class AddOn:
    code: str
    name: str
    unit_price: int
    quantity: int
    attached_at: datetime
    detached_at: datetime | None = None


@dataclass(frozen=True)
class Subscription:
    subscription_id: str
    deployment_id: str
    deployment_slug: str
    started_at: datetime
    phases: tuple[Phase, ...]
    add_ons: tuple[AddOn, ...] = ()
    trial_ends_at: datetime | None = None
    canceled_at: datetime | None = None


@dataclass(frozen=True)
class SubscriptionUsage:
    """One subscription with the period's metered usage of its deployment (metric -> quantity)."""

    subscription: Subscription
    usage: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class RatedLine:
    kind: LineKind
    description: str
    quantity: Decimal
    unit_amount: Decimal | None
    amount: int
    deployment_id: str | None = None
    subscription_id: str | None = None
    metric: str | None = None
    plan_version_id: str | None = None
    add_on_code: str | None = None
    service_start: datetime | None = None
    service_end: datetime | None = None
    tax_rate: Decimal | None = None
    credit_grant_id: str | None = None

    @property
    def key(self) -> tuple:
        """What a line is about, independent of its amount: used to diff a correction."""
        return (self.kind, self.deployment_id or "", self.metric or "", self.add_on_code or "",
                self.plan_version_id or "", self.credit_grant_id or "",
                canonical(self.tax_rate) if self.tax_rate is not None else "")


class LineTotals:
    """The one totals rule of quotes and documents: subtotal = every line but tax, total = subtotal + tax."""

    lines: Iterable[RatedLine]

    @property
    def subtotal(self) -> int:
        return sum(line.amount for line in self.lines if line.kind != LineKind.TAX)

    @property
    def tax(self) -> int:
        return sum(line.amount for line in self.lines if line.kind == LineKind.TAX)

    @property
    def total(self) -> int:
        return self.subtotal + self.tax


@dataclass(frozen=True)
class Quote(LineTotals):
    currency: str
    period: Period
    lines: tuple[RatedLine, ...]
    tax_rate: Decimal
    tax_label: str
    credits: tuple[AvailableCredit, ...] = field(default=())  # every credit considered, used or not


# --- charge models ------------------------------------------------------------------------------

def price_quantity(charge: UsageCharge, billable: int) -> Decimal:
    """Unrounded minor units for `billable` units (after included units are taken off)."""
    if billable < 0:
        raise RatingError(f"metric {charge.metric!r}: negative billable quantity {billable}")
    if billable == 0:
        return Decimal(0)
    if charge.charge_model == ChargeModel.PER_UNIT:
        return billable * charge.unit_amount
    if charge.charge_model == ChargeModel.PACKAGE:
        return math.ceil(billable / charge.package_size) * Decimal(charge.package_amount)
    if charge.charge_model == ChargeModel.GRADUATED:
        total, lower = Decimal(0), 0
        for tier in charge.tiers:
            upper = billable if tier.up_to is None else min(billable, tier.up_to)
            if upper > lower:
                total += (upper - lower) * tier.unit_amount + tier.flat_amount
            if tier.up_to is None or billable <= tier.up_to:
                break
            lower = tier.up_to
        return total
    # volume: every unit at the rate of the tier the total reaches
    for tier in charge.tiers:
        if tier.up_to is None or billable <= tier.up_to:
            return billable * tier.unit_amount + tier.flat_amount
    raise RatingError(f"metric {charge.metric!r}: no tier covers {billable}")  # pragma: no cover


# --- subscriptions ------------------------------------------------------------------------------

def billable_window(sub: Subscription, period: Period) -> Period | None:
    start = max(sub.started_at, sub.trial_ends_at) if sub.trial_ends_at else sub.started_at
    return period.clip(start, sub.canceled_at)


def _segments(sub: Subscription, window: Period) -> list[tuple[PlanVersion, Period]]:
    """Plan versions over the billable window, adjacent equal versions merged."""
    segments: list[tuple[PlanVersion, Period]] = []
    for phase in sorted(sub.phases, key=lambda p: p.start):
        part = window.clip(phase.start, phase.end)
        if part is None:
            continue
        if segments and segments[-1][0] == phase.plan_version and segments[-1][1].end == part.start:
            segments[-1] = (phase.plan_version, Period(segments[-1][1].start, part.end))
        else:
            segments.append((phase.plan_version, part))
    covered = sum(p.seconds for _, p in segments)
    if segments and covered != window.seconds:
        raise RatingError(f"subscription {sub.subscription_id}: plan phases leave gaps in {window.label}")
    return segments


def _fraction(part: Period, whole: Period) -> Decimal:
    return Decimal(part.seconds) / Decimal(whole.seconds)


def _qty(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.000001")).normalize() if value != value.to_integral_value() else value


def rate_subscription(sub: Subscription, period: Period, usage: dict[str, int]) -> list[RatedLine]:
    window = billable_window(sub, period)
    if window is None:
        return []
    segments = _segments(sub, window)
    if not segments:
        raise RatingError(f"subscription {sub.subscription_id}: no plan phase covers {window.label}")
    common = {"deployment_id": sub.deployment_id, "subscription_id": sub.subscription_id}
    lines: list[RatedLine] = []
    for version, part in segments:
        fraction = _fraction(part, period)
        prorated = "" if fraction == 1 else f" (prorated {part.start:%b %d %H:%M}–{part.end:%b %d %H:%M})"
        lines.append(RatedLine(
            kind=LineKind.PLAN_BASE, description=f"{sub.deployment_slug}: {version.label} base fee{prorated}",
            quantity=_qty(fraction), unit_amount=Decimal(version.base_fee),
            amount=round_half_up(version.base_fee * fraction), plan_version_id=version.plan_version_id,
            service_start=part.start, service_end=part.end, **common))
    for add_on in sorted(sub.add_ons, key=lambda a: (a.code, a.attached_at)):
        part = window.clip(add_on.attached_at, add_on.detached_at)
        if part is None:
            continue
        fraction = _fraction(part, period)
        lines.append(RatedLine(
            kind=LineKind.ADDON, description=f"{sub.deployment_slug}: Addon: {add_on.code}"
                                      + (f" x{add_on.quantity}" if add_on.quantity != 1 else ""),
            quantity=_qty(add_on.quantity * fraction), unit_amount=Decimal(add_on.unit_price),
            amount=round_half_up(add_on.unit_price * add_on.quantity * fraction), add_on_code=add_on.code,
            service_start=part.start, service_end=part.end, **common))
    version = segments[-1][0]
    for charge in sorted(version.charges, key=lambda c: c.metric):
        used = usage.get(charge.metric, 0)
        billable = max(0, used - charge.included_quantity)
        if billable == 0:
            continue
        amount = round_half_up(price_quantity(charge, billable))
        lines.append(RatedLine(
            kind=LineKind.OVERAGE,
            description=(f"{sub.deployment_slug}: {charge.metric} {used:,} used, "
                         f"{charge.included_quantity:,} included ({charge.charge_model})"),
            quantity=Decimal(billable),
            unit_amount=charge.unit_amount if charge.charge_model == ChargeModel.PER_UNIT else None,
            amount=amount, metric=charge.metric, plan_version_id=version.plan_version_id,
            service_start=window.start, service_end=window.end, **common))
    if version.minimum_commitment:
        minimum = round_half_up(version.minimum_commitment * _fraction(window, period))
        charged = sum(line.amount for line in lines if line.kind in (LineKind.PLAN_BASE, LineKind.OVERAGE))
        if charged < minimum:
            lines.append(RatedLine(
                kind=LineKind.MINIMUM_COMMITMENT,
                description=f"{sub.deployment_slug}: minimum commitment true-up ({version.label})",
                quantity=Decimal(1), unit_amount=Decimal(minimum - charged), amount=minimum - charged,
                plan_version_id=version.plan_version_id, service_start=window.start,
                service_end=window.end, **common))
    return lines


@dataclass(frozen=True)
class AvailableCredit:
    """What one credit can still give this period: a promotional grant's remaining balance, or a
    monthly free-credit allowance (which resets every period and never rolls over)."""

    credit_grant_id: str
    kind: CreditKind
    label: str
    currency: str
    available: int                   # minor units
    expires_at: datetime | None = None
    deployment_id: str | None = None  # scope: only that deployment's charges


CREDIT_ORDER = (CreditKind.FREE_MONTHLY, CreditKind.PROMOTIONAL)


def credit_sort_key(credit: AvailableCredit) -> tuple:
    """Monthly free credit first, then promotional grants by earliest expiry (no expiry last)."""
    expiry = credit.expires_at.isoformat() if credit.expires_at else "~"  # "~" sorts after any ISO date
    return (CREDIT_ORDER.index(credit.kind), expiry, credit.credit_grant_id)


def apply_credits(lines: list[RatedLine], credits: list[AvailableCredit], currency: str) -> list[RatedLine]:
    """Credit lines (negative) consuming available credits in order; the subtotal never goes below zero
    and a deployment-scoped credit never exceeds that deployment's charges."""
    remaining_total = sum(line.amount for line in lines)
    remaining_by_deployment: dict[str | None, int] = {}
    for line in lines:
        remaining_by_deployment[line.deployment_id] = remaining_by_deployment.get(line.deployment_id, 0) + line.amount
    out = []
    for credit in sorted(credits, key=credit_sort_key):
        if credit.currency != currency:
            raise RatingError(f"credit {credit.credit_grant_id} is in {credit.currency}, the invoice in {currency}")
        cap = remaining_total if credit.deployment_id is None else min(
            remaining_total, remaining_by_deployment.get(credit.deployment_id, 0))
        used = min(credit.available, max(cap, 0))
        if used <= 0:
            continue
        remaining_total -= used
        if credit.deployment_id is not None:
            remaining_by_deployment[credit.deployment_id] -= used
        out.append(RatedLine(kind=LineKind.CREDIT, description=f"Credit: {credit.label}", quantity=Decimal(1),
                             unit_amount=Decimal(-used), amount=-used, deployment_id=credit.deployment_id,
                             credit_grant_id=credit.credit_grant_id))
    return out


def tax_line(subtotal: int, rate: Decimal, label: str) -> RatedLine:
    """Tax once per rate on the invoice's taxable subtotal, rounded half-up; the rate is kept on the line."""
    return RatedLine(kind=LineKind.TAX, description=f"{label} {rate * 100:.2f}%".replace(".00%", "%"),
                     quantity=Decimal(1), unit_amount=None, amount=round_half_up(subtotal * rate), tax_rate=rate)


def quote(currency: str, period: Period, subscriptions: list[SubscriptionUsage],
          tax_rate: Decimal, tax_label: str, credits: list[AvailableCredit] | None = None) -> Quote:
    """Rate every subscription of one tenant for one period into one invoice's lines; credits come
    off after rating and before tax, so tax is computed on the amount after credits."""
    lines: list[RatedLine] = []
    available = list(credits or [])
    for item in sorted(subscriptions, key=lambda s: (s.subscription.deployment_slug, s.subscription.subscription_id)):
        sub, usage = item.subscription, item.usage
        for version_phase in sub.phases:
            if version_phase.plan_version.currency != currency:
                raise RatingError(f"subscription {sub.subscription_id} is priced in "
                                  f"{version_phase.plan_version.currency}, the tenant is billed in {currency}")
        rated = rate_subscription(sub, period, usage)
        lines.extend(rated)
        allowance = plan_allowance(sub, period, currency) if rated else None
        if allowance:
            available.append(allowance)
    lines.extend(apply_credits(lines, available, currency))
    subtotal = sum(line.amount for line in lines)
    if subtotal < 0:
        raise RatingError(f"credits exceed charges in {period.label}: subtotal {subtotal} < 0")
    lines.append(tax_line(subtotal, tax_rate, tax_label))
    return Quote(currency=currency, period=period, lines=tuple(lines), tax_rate=tax_rate, tax_label=tax_label,
                 credits=tuple(sorted(available, key=credit_sort_key)))


def plan_allowance(sub: Subscription, period: Period, currency: str) -> AvailableCredit | None:
    """The monthly free credit of the plan version in force at the end of the billable window."""
    window = billable_window(sub, period)
    segments = _segments(sub, window) if window else []
    if not segments or not segments[-1][0].monthly_free_credit:
        return None
    version = segments[-1][0]
    return AvailableCredit(f"plan-allowance:{sub.subscription_id}", CreditKind.FREE_MONTHLY,
                           f"{sub.deployment_slug}: {version.label} monthly free credit", currency,
                           version.monthly_free_credit, None, sub.deployment_id)


def correction(billed: list[RatedLine], desired: Quote) -> list[RatedLine]:
    """Delta lines that bring what was already billed (issued invoice + corrections) to `desired`.

    Tax is corrected as (tax on the desired subtotal) - (tax already billed), never re-derived
    from the delta, so original + corrections always equal a fresh invoice to the cent.
    """
    billed_by_key: dict[tuple, int] = {}
    template: dict[tuple, RatedLine] = {}
    for line in billed:
        billed_by_key[line.key] = billed_by_key.get(line.key, 0) + line.amount
        template.setdefault(line.key, line)
    deltas: list[RatedLine] = []
    seen = set()
    for line in desired.lines:
        seen.add(line.key)
        delta = line.amount - billed_by_key.get(line.key, 0)
        if delta:
            deltas.append(replace(line, amount=delta, description=f"Correction: {line.description}"))
    for key, amount in billed_by_key.items():
        if key not in seen and amount:
            old = template[key]
            deltas.append(replace(old, amount=-amount, description=f"Correction: {old.description} (removed)"))
    return deltas
