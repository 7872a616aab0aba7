"""Effective-dated tax rates per tenant jurisdiction.

The tax point is the last instant of the service period: a rate change mid-month applies to the
whole invoice of the month it takes effect in only if it is in force on the period's last day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from billing_assets.periods import Period


class TaxError(ValueError):
    """No tax rule for a jurisdiction or date."""


@dataclass(frozen=True)
class TaxRate:
    jurisdiction: str
    label: str
    rate: Decimal
    effective_from: date
    effective_to: date | None = None  # exclusive


TAX_RATES: tuple[TaxRate, ...] = (
    TaxRate("AU", "GST", Decimal("0.10"), date(2000, 7, 1)),
    TaxRate("NZ", "GST", Decimal("0.125"), date(1989, 7, 1), date(2010, 10, 1)),
    TaxRate("NZ", "GST", Decimal("0.15"), date(2010, 10, 1)),
    TaxRate("GB", "VAT", Decimal("0.20"), date(2011, 1, 4)),
    TaxRate("JP", "JCT", Decimal("0.08"), date(2014, 4, 1), date(2019, 10, 1)),
    TaxRate("JP", "JCT", Decimal("0.10"), date(2019, 10, 1)),
    # Services exported by an Australian supplier to customers outside its tax net: zero-rated.
    TaxRate("EXPORT", "GST-free export", Decimal("0"), date(2000, 7, 1)),
)


def tax_rate_for(jurisdiction: str, period: Period) -> TaxRate:
    tax_point = (period.end - timedelta(seconds=1)).date()
    for rule in TAX_RATES:
        if rule.jurisdiction == jurisdiction and rule.effective_from <= tax_point and (
                rule.effective_to is None or tax_point < rule.effective_to):
            return rule
    known = sorted({r.jurisdiction for r in TAX_RATES})
    raise TaxError(f"no tax rate for jurisdiction {jurisdiction!r} on {tax_point} (known: {', '.join(known)})")
