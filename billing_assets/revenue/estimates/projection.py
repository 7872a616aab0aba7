"""The running month's arithmetic, pure so every rule is tested by hand-worked cases: how far the month
has run, what a month-to-date figure projects to, which reference an estimate is measured against, and
which bill-shock thresholds it crosses.

The event run-rate itself (on-time event usage x month length / elapsed time, half-up per billable-usage
row) is applied in SQL (sql/estimates/project_event_usage.sql) with the seconds computed here, because
the quote engine reads usage from revenue.billable_usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from billing_assets.money import exponent, round_half_up
from billing_assets.periods import Period

# Percent of the reference at which a projection raises an alert, by kind of reference. Against a budget
# the tenant set, approaching it is the news. Against last month's total a steady tenant reaches 100%
# every month, so only growth beyond it is: 50% and 80% of last month would alert nearly every tenant.
BUDGET_THRESHOLDS = (50, 80, 100)
PREVIOUS_MONTH_THRESHOLDS = (120, 150, 200)


class EstimateError(ValueError):
    """A running-month request that cannot be answered; the message names the field."""


@dataclass(frozen=True)
class RunRate:
    """How much of `month` had run at `as_of`. After the month's end the month is complete (factor 1):
    nothing is projected, and the estimate is the invoice the month close computes."""

    month: Period
    as_of: datetime

    def __post_init__(self) -> None:
        if self.as_of <= self.month.start:
            raise EstimateError(f"as_of: {self.as_of:%Y-%m-%d %H:%M} UTC is not after the start of "
                                f"{self.month.label}; nothing of the month is known yet")

    @property
    def month_seconds(self) -> int:
        return int((self.month.end - self.month.start).total_seconds())

    @property
    def elapsed_seconds(self) -> int:
        return min(int((self.as_of - self.month.start).total_seconds()), self.month_seconds)

    @property
    def complete(self) -> bool:
        return self.elapsed_seconds == self.month_seconds

    @property
    def elapsed_fraction(self) -> Decimal:
        return (Decimal(self.elapsed_seconds) / Decimal(self.month_seconds)).quantize(Decimal("0.000001"))

    def project(self, so_far: int) -> int:
        """A month-to-date amount at the same rate to month end: so_far x month / elapsed, half-up, in
        integers (no division is rounded before the last step)."""
        return (2 * so_far * self.month_seconds + self.elapsed_seconds) // (2 * self.elapsed_seconds)


def project_since(month: Period, at: datetime, so_far: int) -> int | None:
    """`so_far` measured at `at` (a balance's generated_at) projected to month end; None when `at` is
    not inside the month (nothing of it was measured)."""
    if not month.start < at:
        return None
    return RunRate(month, at).project(so_far)


@dataclass(frozen=True)
class Reference:
    """What a tenant's projected total is measured against: its budget, else last month's total."""

    kind: str  # 'budget' | 'previous_month'
    amount_minor: int


def reference_for(budget_minor: int | None, previous_month_minor: int | None) -> Reference | None:
    """The budget when the tenant set one; else the previous month's total when it was positive; else
    nothing (a new tenant without a budget gets no bill-shock alert: there is nothing to be shocked by)."""
    if budget_minor is not None and budget_minor > 0:
        return Reference("budget", budget_minor)
    if previous_month_minor is not None and previous_month_minor > 0:
        return Reference("previous_month", previous_month_minor)
    return None


def percent_of(amount_minor: int, reference: Reference) -> Decimal:
    return (Decimal(amount_minor) * 100 / Decimal(reference.amount_minor)).quantize(Decimal("0.1"))


def crossed(projected_total_minor: int, reference: Reference | None, thresholds: tuple[int, ...]) -> list[int]:
    """Thresholds (percent) the projection has reached: projected x 100 >= threshold x reference, in
    integers, so exactly 80% is a crossing of 80."""
    if reference is None:
        return []
    return [t for t in thresholds if projected_total_minor * 100 >= t * reference.amount_minor]


def check_thresholds(thresholds: list[int], field: str = "alert_thresholds_percent") -> tuple[int, ...]:
    if not thresholds or any(t <= 0 for t in thresholds) or list(thresholds) != sorted(set(thresholds)):
        raise EstimateError(f"{field}: {thresholds} must be positive whole percents in "
                            "ascending order without repeats (like [50, 80, 100])")
    return tuple(thresholds)


def to_usd_minor(amount_minor: int, currency: str, usd_per_unit: Decimal | None) -> int | None:
    """Minor units of `currency` as USD cents at `usd_per_unit`, half-up; None without a rate."""
    if currency == "USD":
        return amount_minor
    if usd_per_unit is None:
        return None
    return round_half_up(Decimal(amount_minor) * usd_per_unit * Decimal(10) ** (2 - exponent(currency)))
