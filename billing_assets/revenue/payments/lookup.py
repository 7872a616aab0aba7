"""Finding what an operator wants to reverse: tenants by slug or id, their usage events and payments.

The reversal jobs take ids, and an operator knows a tenant's slug and roughly when: these lookups
(behind `billing-assets find-usage` and `find-payments`) turn the one into the other, read-only.
"""

from __future__ import annotations

from billing_assets.periods import PeriodError, parse_month
from billing_assets.sql_files import read_sql


def resolve_tenant(conn, key: str) -> tuple[str, str]:
    """(tenant_id, slug) of the tenant named by `key`, an id in any case or a slug; ValueError names the field."""
    if not key or not key.strip():
        raise ValueError("tenant: give a tenant slug or id")
    rows = conn.execute(read_sql("payments/tenant_by_key.sql"), {"key": key}).fetchall()
    if not rows:
        raise ValueError(f"tenant: no tenant with id or slug {key.strip()!r} in the warehouse's snapshot")
    return rows[0]


def find_usage(conn, tenant_key: str, period: str, metric: str | None = None, deployment: str | None = None,
               limit: int = 50) -> list[tuple]:
    """One tenant's usage events of one month, newest first: (event_id, deployment, metric, quantity,
    occurred_at, idempotency_key, reversed)."""
    tenant_id, _ = resolve_tenant(conn, tenant_key)
    try:
        month = parse_month(period)
    except PeriodError as exc:
        raise ValueError(f"period: {exc}") from None
    return conn.execute(read_sql("payments/find_usage.sql"), {
        "tenant_id": tenant_id, "month_start": month.start.replace(tzinfo=None),
        "month_end": month.end.replace(tzinfo=None), "metric": metric, "deployment": deployment,
        "limit": limit}).fetchall()


def find_payments(conn, tenant_key: str, limit: int = 50) -> list[tuple]:
    """One tenant's payments, newest first: (payment_id, invoice_number, period, amount_minor, currency,
    paid_at, reversed)."""
    tenant_id, _ = resolve_tenant(conn, tenant_key)
    return conn.execute(read_sql("payments/find_payments.sql"), {"tenant_id": tenant_id, "limit": limit}).fetchall()
