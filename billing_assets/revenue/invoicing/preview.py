"""The invoice preview: one tenant's quote for one month, read-only, through the same engine as the invoices."""

from __future__ import annotations

from billing_assets.money import format_money
from billing_assets.periods import PeriodError, parse_month
from billing_assets.revenue.invoicing.inputs import load_tenant_inputs, quote_tenant
from billing_assets.revenue.invoicing.rating import Quote


def preview_rows(conn, tenant_key: str, period_text: str) -> tuple[Quote, list[tuple]]:
    """The quote for one tenant and month, read-only. Raises ValueError naming a bad field."""
    try:
        month = parse_month(period_text)
    except PeriodError as exc:
        raise ValueError(f"period: {exc}") from None
    inputs = load_tenant_inputs(conn, month)
    match = [t for t in inputs.values() if tenant_key in (t.tenant.tenant_id, t.tenant.slug)]
    if not match:
        raise ValueError(f"tenant: no tenant with id or slug {tenant_key!r}")
    metered = conn.execute("SELECT count(*) FROM revenue.metered_usage WHERE period_start = ?",
                           [month.start.replace(tzinfo=None)]).fetchone()[0]
    if not metered:
        raise ValueError(f"period: metered usage for {month.label} has not been materialized yet")
    q = quote_tenant(match[0], month)
    rows = [(line.kind, line.description, line.quantity, format_money(line.amount, q.currency)) for line in q.lines]
    rows += [("", "Subtotal", "", format_money(q.subtotal, q.currency)),
             ("", "Tax", "", format_money(q.tax, q.currency)),
             ("", "Total", "", format_money(q.total, q.currency))]
    return q, rows
