"""The quote engine: plan version + add-ons + usage + service period -> rated invoice lines.

Pure: plain values in, plain values out; the invoice assets and the preview call the same code.

Rules (README "How invoices are computed" has the long form; the scenario tests in
tests/revenue/invoicing/scenarios/ work each one out by hand):
- Amounts are Decimal minor units until a line is finished, then rounded half-up once per line; a
  line that shows a unit amount has amount = quantity x unit amount, rounded half-up.
- Billable window: the period ∩ [started_at, canceled_at), starting no earlier than the trial's end.
  Usage is attributed (in SQL, sql/metering/billable_usage.sql) to the plan phase whose billable
  window holds its occurred_at; usage outside every window is never billed.
- Base fee and add-ons are prorated by the exact seconds of the billable window they cover (the
  fraction shown half-up to 6 decimals), split at every plan change; adjacent phases on the same
  plan version are merged first, so splitting a phase in two never changes a cent.
- Usage is rated per plan phase on that phase's version, tiers starting afresh; included quantities
  are prorated by the phase's share of the period (half-up to whole units) unless the charge says
  included_quantity_prorated = false.
- Late usage (received after its period's cut-off) is billed by a later invoice as a
  prior_period_usage line at the margin of its original period and phase.
- A minimum commitment tops each phase's base + usage up to its prorated minimum.
- Credits come off after rating and before tax: monthly free credits first, then promotional
  grants by earliest expiry; they never take an invoice below zero.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
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
    PRIOR_PERIOD_USAGE = "prior_period_usage"
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
    included_quantity_prorated: bool = True

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


UsageKey = tuple[datetime, str]  # (the plan phase's effective_from, metric): usage is attributed to phases


@dataclass(frozen=True)
class LateUsage:
    """Usage of an earlier period received after that period's cut-off, billed on this invoice.
    Per plan phase (by effective_from): what arrived since the last invoice, and what earlier
    documents already billed for that period (on-time + late), which sets the margin."""

    original_period: Period
    metric: str
    quantity: Mapping[datetime, int]
    prior: Mapping[datetime, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SubscriptionUsage:
    """One subscription with its usage: on-time usage of the period per (phase, metric), and the late
    usage of earlier periods that this period's invoice bills."""

    subscription: Subscription
    usage: Mapping[UsageKey, int] = field(default_factory=dict)
    late: tuple[LateUsage, ...] = ()


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
    usage_period_start: datetime | None = None  # prior_period_usage: the period the usage occurred in

    @property
    def key(self) -> tuple:
        """What a line is about, independent of its amount: used to diff a correction."""
        return (self.kind, self.deployment_id or "", self.metric or "", self.add_on_code or "",
                self.plan_version_id or "", self.credit_grant_id or "",
                canonical(self.tax_rate) if self.tax_rate is not None else "",
                self.service_start.isoformat() if self.service_start else "",
                self.usage_period_start.isoformat() if self.usage_period_start else "")


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


@dataclass(frozen=True)
class Segment:
    """A stretch of a subscription's billable window on one plan version: adjacent phases on the same
    version are merged first, so splitting a phase in two never changes a cent."""

    plan_version: PlanVersion
    part: Period
    phase_starts: tuple[datetime, ...]  # the phases (by effective_from) it is made of


def segments_of(sub: Subscription, window: Period) -> list[Segment]:
    """Plan versions over the billable window; a window the phases do not cover whole is refused."""
    segments: list[Segment] = []
    for phase in sorted(sub.phases, key=lambda p: p.start):
        part = window.clip(phase.start, phase.end)
        if part is None:
            continue
        last = segments[-1] if segments else None
        if last and last.plan_version == phase.plan_version and last.part.end == part.start:
            segments[-1] = Segment(last.plan_version, Period(last.part.start, part.end),
                                   (*last.phase_starts, phase.start))
        else:
            segments.append(Segment(phase.plan_version, part, (phase.start,)))
    covered = sum(s.part.seconds for s in segments)
    if segments and covered != window.seconds:
        raise RatingError(f"subscription {sub.subscription_id}: plan phases leave gaps in {window.label}")
    return segments


def _fraction(part: Period, whole: Period) -> Decimal:
    return Decimal(part.seconds) / Decimal(whole.seconds)


QUANTITY_STEP = Decimal("0.000001")  # quantities on documents have at most 6 decimals


def shown_quantity(value: Decimal) -> Decimal:
    """The quantity a document shows: half-up to 6 decimals, trailing zeros dropped."""
    if value == value.to_integral_value():
        return value.to_integral_value()
    return value.quantize(QUANTITY_STEP, rounding=ROUND_HALF_UP).normalize()


def included_in(charge: UsageCharge, segment: Period, period: Period) -> int:
    """The included quantity of one plan phase: its share of the period by exact seconds, half-up to
    whole units, unless the charge grants it whole (included_quantity_prorated false)."""
    if not charge.included_quantity_prorated or segment.seconds == period.seconds:
        return charge.included_quantity
    return round_half_up(charge.included_quantity * _fraction(segment, period))


def _in_segment(segment: Segment, by_phase: Mapping[datetime, int]) -> int:
    """A segment's quantity: the sum over the phases it is made of."""
    return sum(by_phase.get(start, 0) for start in segment.phase_starts)


def _check_keys(sub: Subscription, segments: list[Segment], keys, where: str) -> None:
    """Usage attributed to a phase that has no billable time here would be silently lost: refuse it."""
    known = {start for s in segments for start in s.phase_starts}
    stray = sorted({start for start, _ in keys} - known)
    if stray:
        raise RatingError(f"subscription {sub.subscription_id}: usage attributed to plan phase(s) starting "
                          f"{', '.join(f'{s:%Y-%m-%d %H:%M}' for s in stray)}, which have no billable time in {where}")


def rate_subscription(sub: Subscription, period: Period, usage: Mapping[UsageKey, int],
                      late: tuple[LateUsage, ...] = ()) -> list[RatedLine]:
    """Base fee, add-ons, usage and minimum commitment of one subscription for one period, each plan
    phase on its own price; then the late usage of earlier periods billed now at their margin."""
    window = billable_window(sub, period)
    segments = segments_of(sub, window) if window else []
    if window is not None and not segments:
        raise RatingError(f"subscription {sub.subscription_id}: no plan phase covers {window.label}")
    _check_keys(sub, segments, [k for k, q in usage.items() if q], period.label)
    common = {"deployment_id": sub.deployment_id, "subscription_id": sub.subscription_id}
    lines: list[RatedLine] = []
    for segment in segments:
        version, part = segment.plan_version, segment.part
        quantity = shown_quantity(_fraction(part, period))
        prorated = "" if part.seconds == period.seconds else \
            f" (prorated {part.start:%b %d %H:%M}–{part.end:%b %d %H:%M})"
        lines.append(RatedLine(
            kind=LineKind.PLAN_BASE, description=f"{sub.deployment_slug}: {version.label} base fee{prorated}",
            quantity=quantity, unit_amount=Decimal(version.base_fee),
            amount=round_half_up(quantity * version.base_fee), plan_version_id=version.plan_version_id,
            service_start=part.start, service_end=part.end, **common))
    for add_on in sorted(sub.add_ons, key=lambda a: (a.code, a.attached_at)):
        part = window.clip(add_on.attached_at, add_on.detached_at) if window else None
        if part is None:
            continue
        quantity = shown_quantity(add_on.quantity * _fraction(part, period))
        lines.append(RatedLine(
            kind=LineKind.ADDON, description=f"{sub.deployment_slug}: Addon: {add_on.code}"
                                             + (f" x{add_on.quantity}" if add_on.quantity != 1 else ""),
            quantity=quantity, unit_amount=Decimal(add_on.unit_price),
            amount=round_half_up(quantity * add_on.unit_price), add_on_code=add_on.code,
            service_start=part.start, service_end=part.end, **common))
    base = {line.service_start: line.amount for line in lines if line.kind == LineKind.PLAN_BASE}
    for segment in segments:
        lines.extend(_usage_lines(sub, segment, period, usage, base[segment.part.start]))
    for lu in late:
        lines.extend(_late_lines(sub, lu))
    return lines


def _usage_lines(sub: Subscription, segment: Segment, period: Period, usage: Mapping[UsageKey, int],
                 base_amount: int) -> list[RatedLine]:
    """One phase's usage on its own plan version (tiers start afresh), then its minimum commitment."""
    version, part = segment.plan_version, segment.part
    common = {"deployment_id": sub.deployment_id, "subscription_id": sub.subscription_id,
              "plan_version_id": version.plan_version_id, "service_start": part.start, "service_end": part.end}
    lines: list[RatedLine] = []
    charged = base_amount
    for charge in sorted(version.charges, key=lambda c: c.metric):
        used = _in_segment(segment, {start: q for (start, metric), q in usage.items() if metric == charge.metric})
        included = included_in(charge, part, period)
        billable = max(0, used - included)
        if billable == 0:
            continue
        amount = round_half_up(price_quantity(charge, billable))
        charged += amount
        lines.append(RatedLine(
            kind=LineKind.OVERAGE,
            description=(f"{sub.deployment_slug}: {charge.metric} {used:,} used, {included:,} included "
                         f"({charge.charge_model}, {version.label})"),
            quantity=Decimal(billable),
            unit_amount=charge.unit_amount if charge.charge_model == ChargeModel.PER_UNIT else None,
            amount=amount, metric=charge.metric, **common))
    if version.minimum_commitment:
        minimum = round_half_up(version.minimum_commitment * _fraction(part, period))
        if charged < minimum:
            lines.append(RatedLine(
                kind=LineKind.MINIMUM_COMMITMENT,
                description=f"{sub.deployment_slug}: minimum commitment true-up ({version.label})",
                quantity=Decimal(1), unit_amount=Decimal(minimum - charged), amount=minimum - charged, **common))
    return lines


def _late_lines(sub: Subscription, late: LateUsage) -> list[RatedLine]:
    """Usage of an earlier period received after its cut-off, on that period's plan phase and price, at
    the margin: rate(prior + now) - rate(prior) with the original phase's included quantity. A per-unit
    price is linear, so its margin is quantity x unit price (the line shows both)."""
    original = late.original_period
    window = billable_window(sub, original)
    segments = segments_of(sub, window) if window else []
    _check_keys(sub, segments, [(s, late.metric) for s, q in late.quantity.items() if q],
                f"{original.label} (late usage)")
    lines = []
    for segment in segments:
        version = segment.plan_version
        charge = next((c for c in version.charges if c.metric == late.metric), None)
        new = _in_segment(segment, late.quantity)
        if charge is None or not new:
            continue
        prior = _in_segment(segment, late.prior)
        included = included_in(charge, segment.part, original)
        before, after = max(0, prior - included), max(0, prior + new - included)
        if after == before:
            continue
        per_unit = charge.charge_model == ChargeModel.PER_UNIT
        amount = (round_half_up((after - before) * charge.unit_amount) if per_unit else
                  round_half_up(price_quantity(charge, after)) - round_half_up(price_quantity(charge, before)))
        lines.append(RatedLine(
            kind=LineKind.PRIOR_PERIOD_USAGE,
            description=(f"{sub.deployment_slug}: {late.metric} {new:,} used in {original.label}, received after "
                         f"its cut-off ({charge.charge_model}, {version.label}, {prior:,} billed before)"),
            quantity=Decimal(after - before), unit_amount=charge.unit_amount if per_unit else None, amount=amount,
            deployment_id=sub.deployment_id, subscription_id=sub.subscription_id, metric=late.metric,
            plan_version_id=version.plan_version_id, service_start=segment.part.start,
            service_end=segment.part.end, usage_period_start=original.start))
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
        rated = rate_subscription(sub, period, usage, item.late)
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
    segments = segments_of(sub, window) if window else []
    if not segments or not segments[-1].plan_version.monthly_free_credit:
        return None
    version = segments[-1].plan_version
    return AvailableCredit(f"plan-allowance:{sub.subscription_id}", CreditKind.FREE_MONTHLY,
                           f"{sub.deployment_slug}: {version.label} monthly free credit", currency,
                           version.monthly_free_credit, None, sub.deployment_id)


def correction(billed: list[RatedLine], desired: Quote) -> list[RatedLine]:
    """Delta lines that bring what was already billed (issued invoice + corrections) to `desired`.

    Tax is corrected as (tax on the desired subtotal) - (tax already billed), never re-derived
    from the delta, so original + corrections always equal a fresh invoice to the cent.
    """
    billed_amount: dict[tuple, int] = {}
    billed_quantity: dict[tuple, Decimal] = {}
    template: dict[tuple, RatedLine] = {}
    for line in billed:
        billed_amount[line.key] = billed_amount.get(line.key, 0) + line.amount
        billed_quantity[line.key] = billed_quantity.get(line.key, Decimal(0)) + line.quantity
        template.setdefault(line.key, line)
    deltas: list[RatedLine] = []
    seen = set()
    for line in desired.lines:
        seen.add(line.key)
        delta = line.amount - billed_amount.get(line.key, 0)
        if delta:
            was = template.get(line.key)
            same_price = was is None or was.unit_amount == line.unit_amount
            deltas.append(_delta_line(line, delta, line.quantity - billed_quantity.get(line.key, Decimal(0)),
                                      same_price, f"Correction: {line.description}"))
    for key, amount in billed_amount.items():
        if key not in seen and amount:
            old = template[key]
            deltas.append(_delta_line(old, -amount, -billed_quantity[key], True,
                                      f"Correction: {old.description} (removed)"))
    return deltas


def _delta_line(line: RatedLine, amount: int, quantity: Decimal, same_price: bool, description: str) -> RatedLine:
    """A correction line that stays arithmetically honest: the delta quantity at the line's unit amount
    when that is what changed (quantity x unit = amount), else quantity 1 with the delta as the unit
    amount; lines without a unit amount (tax, tiered usage) show the delta quantity, or 1."""
    if line.unit_amount is None:
        return replace(line, amount=amount, quantity=quantity or Decimal(1), description=description)
    if same_price and quantity and round_half_up(quantity * line.unit_amount) == amount:
        return replace(line, amount=amount, quantity=quantity, description=description)
    return replace(line, amount=amount, quantity=Decimal(1), unit_amount=Decimal(amount), description=description)
