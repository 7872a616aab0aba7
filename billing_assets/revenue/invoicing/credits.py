"""The credit ledger: for any credit, when it was granted, what consumed it, when the rest expired. Pure.

Entries are derived from immutable facts only (grants, the credit each period made available, and the
credit lines of invoice documents), so a month's ledger is the same however often it is rebuilt;
corrections appear as new entries (`reversed`), never as edits. Signs follow the grant's balance:
granted +, consumed −, reversed + (a correction gave consumption back), expired −.

- promotional: granted once (in the month of effective_from), consumed by invoice lines, and what is
  left expires in the month its expires_at falls in (a grant is usable for periods starting before it).
- free_monthly (a tenant grant or a plan version's allowance): granted each period it was available,
  and whatever that period did not consume expires at the period's end: it never rolls over.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from billing_assets.ids import stable_id
from billing_assets.periods import Period
from billing_assets.revenue.invoicing.rating import CreditKind

LEDGER_NAMESPACE = uuid.UUID("3d0f4b6e-8a2c-4e1f-9b7d-5c6a2e8f1d04")


@dataclass(frozen=True)
class Grant:
    credit_grant_id: str
    tenant_id: str
    kind: str
    amount: int
    effective_from: datetime
    expires_at: datetime | None


@dataclass(frozen=True)
class CreditLine:
    period_start: datetime
    credit_grant_id: str
    tenant_id: str
    invoice_id: str
    line_id: str
    amount: int  # as on the invoice: negative consumes, positive (a correction) gives back


@dataclass(frozen=True)
class Entry:
    entry_id: str
    period_start: datetime
    credit_grant_id: str
    tenant_id: str
    kind: str
    entry_type: str  # granted | consumed | reversed | expired
    amount: int
    invoice_id: str | None = None
    line_id: str | None = None


@dataclass(frozen=True)
class Balance:
    period_start: datetime
    credit_grant_id: str
    tenant_id: str
    kind: str
    granted: int
    consumed: int   # net of reversals
    expired: int
    remaining: int


def _entry(period: Period, grant_id: str, tenant: str, kind: str, entry_type: str, amount: int,
           invoice_id: str | None = None, line_id: str | None = None) -> Entry:
    key = f"{period.start:%Y-%m}/{grant_id}/{entry_type}/{line_id or ''}"
    return Entry(stable_id(LEDGER_NAMESPACE, key), period.start.replace(tzinfo=None), grant_id, tenant, kind,
                 entry_type, amount,
                 invoice_id, line_id)


def build_ledger(months: list[Period], grants: list[Grant], free_monthly_available: dict[tuple, int],
                 lines: list[CreditLine]) -> tuple[list[Entry], list[Balance]]:
    """Entries and month-end balances for `months` (consecutive, oldest first, from the first month
    any grant matters). `free_monthly_available[(period_start, grant_id)] = (tenant_id, amount)`."""
    by_period: dict[tuple, list[CreditLine]] = {}
    for line in sorted(lines, key=lambda x: (x.period_start, x.credit_grant_id, x.line_id)):
        by_period.setdefault((line.period_start, line.credit_grant_id), []).append(line)
    promotional = {g.credit_grant_id: g for g in grants if g.kind == CreditKind.PROMOTIONAL}
    totals: dict[str, list[int]] = {}  # grant -> [granted, consumed(net), expired]
    kinds: dict[str, tuple[str, str]] = {g.credit_grant_id: (g.tenant_id, g.kind) for g in grants}
    entries: list[Entry] = []
    balances: list[Balance] = []
    for month in months:
        start = month.start.replace(tzinfo=None)
        touched: set[str] = set()
        for grant in promotional.values():
            effective = grant.effective_from.replace(tzinfo=None)
            if start <= effective < month.end.replace(tzinfo=None):
                totals.setdefault(grant.credit_grant_id, [0, 0, 0])[0] += grant.amount
                entries.append(_entry(month, grant.credit_grant_id, grant.tenant_id, CreditKind.PROMOTIONAL, "granted",
                                      grant.amount))
                touched.add(grant.credit_grant_id)
        for (period_start, grant_id), (tenant, amount) in sorted(free_monthly_available.items()):
            if period_start == start:
                kinds.setdefault(grant_id, (tenant, CreditKind.FREE_MONTHLY))
                totals.setdefault(grant_id, [0, 0, 0])[0] += amount
                entries.append(_entry(month, grant_id, tenant, CreditKind.FREE_MONTHLY, "granted", amount))
                touched.add(grant_id)
        for (period_start, grant_id), consumed in by_period.items():
            if period_start != start:
                continue
            tenant, kind = kinds.get(grant_id, (consumed[0].tenant_id, CreditKind.PROMOTIONAL))
            for line in consumed:
                entry_type = "consumed" if line.amount < 0 else "reversed"
                totals.setdefault(grant_id, [0, 0, 0])[1] += -line.amount
                entries.append(_entry(month, grant_id, tenant, kind, entry_type, line.amount, line.invoice_id,
                                      line.line_id))
            touched.add(grant_id)
        for grant_id in sorted(set(totals)):
            tenant, kind = kinds[grant_id]
            granted, consumed, expired = totals[grant_id]
            remaining = granted - consumed - expired
            grant = promotional.get(grant_id)
            expires_now = kind == CreditKind.FREE_MONTHLY and grant_id in touched or (
                grant is not None and grant.expires_at is not None
                and start < grant.expires_at.replace(tzinfo=None) <= month.end.replace(tzinfo=None))
            if expires_now and remaining > 0:
                totals[grant_id][2] += remaining
                entries.append(_entry(month, grant_id, tenant, kind, "expired", -remaining))
                remaining = 0
            balances.append(Balance(start, grant_id, tenant, kind, granted, consumed, totals[grant_id][2],
                                    remaining))
    return entries, balances
