"""The one monthly partitions definition every monthly asset shares.

UTC, starting on the 1st, end_offset=0: only closed months exist as partitions, so nothing can
invoice a month that is still running. The first month is `BILLING_FIRST_MONTH` (YYYY-MM): months
before the platform's first data would show as "missing" in the UI, which reads as lost data.
"""

from __future__ import annotations

import enum
import os
from datetime import UTC, datetime

import dagster as dg

from billing_assets.periods import Period, PeriodError, months_in, parse_month

# The sample world's first month; a deployment sets its own (README, Configuration).
DEFAULT_FIRST_MONTH = "2026-01"


def first_month(configured: str | None) -> str:
    """The first partition key (`YYYY-MM-01`) for BILLING_FIRST_MONTH's value (None or blank: the default)."""
    try:
        period = parse_month((configured or "").strip() or DEFAULT_FIRST_MONTH)
    except PeriodError as exc:
        raise ValueError(f"BILLING_FIRST_MONTH: {exc}") from None
    return f"{period.start:%Y-%m-%d}"


FIRST_MONTH = first_month(os.environ.get("BILLING_FIRST_MONTH"))

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, timezone="UTC", end_offset=0)


def month_choices(first_key: str, now: datetime) -> list[str]:
    """`YYYY-MM` from the first partition through December of next year: the one-off jobs' period values.

    Why an enum: Dagster's config schema has no string patterns, but it checks enums, so the Launchpad
    refuses `2026-13` or an empty period before launch. Why beyond the last closed month: the list is
    fixed when the code location loads, and a code server that runs for months must still offer the
    month that just closed; a month that has not ended is refused by the job itself, in one line."""
    end = datetime(now.year + 2, 1, 1, tzinfo=UTC)
    return [m.label for m in months_in(Period(parse_month(first_key).start, end))]


BillingMonth = enum.Enum("BillingMonth", {m: m for m in month_choices(FIRST_MONTH, datetime.now(UTC))}, type=str)
