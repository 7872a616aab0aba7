"""The one monthly partitions definition every monthly asset shares.

UTC, starting on the 1st, end_offset=0: only closed months exist as partitions, so nothing can
invoice a month that is still running. The first month is `BILLING_FIRST_MONTH` (YYYY-MM): months
before the platform's first data would show as "missing" in the UI, which reads as lost data.
"""

from __future__ import annotations

import os

import dagster as dg

from billing_assets.periods import PeriodError, parse_month

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
