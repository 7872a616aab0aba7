"""The double-entry journal, derived (pure) from documents, payments and payment reversals.

Accounts: accounts_receivable, revenue, tax_payable, cash. Every transaction balances.
- invoice / supplementary invoice: DR receivable total; CR revenue subtotal; CR tax_payable tax
- credit note (negative amounts): the same postings with sides swapped
- payment: DR cash; CR receivable.   payment reversal: DR receivable; CR cash (the receivable re-opens)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from billing_assets.ids import stable_id

JOURNAL_NAMESPACE = uuid.UUID("9e2b7c14-5a3d-4f68-b0c1-7d4e2a9f6b83")


@dataclass(frozen=True)
class Posting:
    transaction_id: str
    entry_number: int
    posted_at: datetime
    tenant_id: str
    account: str
    debit: int
    credit: int
    currency: str
    source_type: str
    source_id: str
    description: str


def _tx(source_type: str, source_id: str) -> str:
    return stable_id(JOURNAL_NAMESPACE, f"{source_type}/{source_id}")


def _postings(source_type, source_id, posted_at, tenant, currency, description, legs) -> list[Posting]:
    """legs: (account, signed amount) with + meaning debit; zero legs are dropped."""
    tx = _tx(source_type, source_id)
    out = []
    for account, amount in legs:
        if amount:
            out.append(Posting(tx, len(out) + 1, posted_at, tenant, account, max(amount, 0), max(-amount, 0),
                               currency, source_type, source_id, description))
    return out


def document_postings(invoice_id, number, tenant, currency, subtotal, tax, total, issued_at) -> list[Posting]:
    return _postings("document", invoice_id, issued_at, tenant, currency, f"{number} issued",
                     [("accounts_receivable", total), ("revenue", -subtotal), ("tax_payable", -tax)])


def payment_postings(payment_id, invoice_number, tenant, currency, amount, paid_at) -> list[Posting]:
    return _postings("payment", payment_id, paid_at, tenant, currency, f"payment of {invoice_number}",
                     [("cash", amount), ("accounts_receivable", -amount)])


def reversal_postings(reversal_id, payment_id, tenant, currency, amount, reversed_at) -> list[Posting]:
    return _postings("payment_reversal", reversal_id, reversed_at, tenant, currency,
                     f"reversal of payment {payment_id}", [("accounts_receivable", amount), ("cash", -amount)])


def unbalanced(postings: list[Posting]) -> list[tuple[str, int, int]]:
    totals: dict[str, list[int]] = {}
    for p in postings:
        totals.setdefault(p.transaction_id, [0, 0])
        totals[p.transaction_id][0] += p.debit
        totals[p.transaction_id][1] += p.credit
    return [(tx, d, c) for tx, (d, c) in sorted(totals.items()) if d != c]
