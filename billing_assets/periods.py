"""UTC half-open periods `[start, end)` and the timestamp formats DigitalOcean uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property


class PeriodError(ValueError):
    """A timestamp or period that cannot be read unambiguously."""


@dataclass(frozen=True, order=True)
class Period:
    """A half-open UTC interval. Months are the common case, but nothing here assumes it."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise PeriodError("period bounds must be timezone-aware UTC datetimes")
        if self.end <= self.start:
            raise PeriodError(f"empty period [{self.start.isoformat()}, {self.end.isoformat()})")

    @cached_property
    def seconds(self) -> int:
        return int((self.end - self.start).total_seconds())

    @cached_property
    def label(self) -> str:
        """`2026-04` for a calendar month, else `start/end` in ISO form. Cached: rating asks a month's
        Period for it once per subscription and line (1.7% of a 10,000-tenant close when computed each time)."""
        if self == month_period(self.start.year, self.start.month):
            return f"{self.start:%Y-%m}"
        return f"{self.start.isoformat()}/{self.end.isoformat()}"

    def clip(self, start: datetime | None, end: datetime | None) -> Period | None:
        """The part of [start, end) inside this period (None bounds are open), or None."""
        lo = max(self.start, start) if start else self.start
        hi = min(self.end, end) if end else self.end
        return Period(lo, hi) if hi > lo else None


def month_period(year: int, month: int) -> Period:
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    return Period(start, end)


def parse_month(text: str) -> Period:
    """Accept `YYYY-MM` or a Dagster monthly partition key `YYYY-MM-01`."""
    raw = str(text).strip()
    try:
        if len(raw) == 7:
            parsed = datetime.strptime(raw, "%Y-%m")  # noqa: DTZ007
        elif len(raw) == 10 and raw.endswith("-01"):
            parsed = datetime.strptime(raw, "%Y-%m-%d")  # noqa: DTZ007
        else:
            raise ValueError
    except ValueError:
        raise PeriodError(f"not a month: {text!r} (expected YYYY-MM)") from None
    return month_period(parsed.year, parsed.month)


def months_in(window: Period) -> list[Period]:
    """Calendar months covering a window that starts on a month boundary (a partition range)."""
    months, cursor = [], window.start
    while cursor < window.end:
        month = month_period(cursor.year, cursor.month)
        months.append(month)
        cursor = month.end
    return months


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise PeriodError(f"naive timestamp {value.isoformat()} (UTC offset required)")
    return value.astimezone(UTC)


def parse_timestamp(text: str) -> datetime:
    """Parse `2026-04-01T00:00:00Z`, ISO with an offset, or DigitalOcean's CSV `2026-04-01 00:00:00 +0000`."""
    raw = str(text).strip()
    for fmt in ("%Y-%m-%d %H:%M:%S %z", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            parsed = datetime.strptime(raw, fmt)  # noqa: DTZ007
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
        except ValueError:
            continue
    try:
        return to_utc(datetime.fromisoformat(raw))
    except ValueError:
        raise PeriodError(f"not a timestamp: {text!r}") from None


def exclusive_end(end: datetime) -> datetime:
    """DigitalOcean writes some period ends as `23:59:59`; the half-open end is one second later."""
    if end.hour == 23 and end.minute == 59 and end.second == 59:
        return end + timedelta(seconds=1)
    return end


def aware(value: datetime | None) -> datetime | None:
    """A warehouse/source timestamp (naive, UTC by convention) as an aware UTC datetime."""
    return None if value is None else (value if value.tzinfo else value.replace(tzinfo=UTC))


def naive(value: datetime | None) -> datetime | None:
    """An aware datetime as the warehouse stores it: UTC without an offset."""
    return None if value is None else value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def iso_z(value: datetime) -> str:
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")
