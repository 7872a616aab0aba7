"""The credit ledger asset: entries and month-end balances per grant, with the two ledger invariants."""

from datetime import UTC, datetime
from functools import partial

import dagster as dg

from billing_assets.assets_common import MONTHLY, md_bullets, month_window, monthly_results, table_schema
from billing_assets.periods import Period, aware, months_in
from billing_assets.revenue.invoicing.credits import CreditLine, Grant, build_ledger
from billing_assets.warehouse import insert_rows, markdown_preview, transaction
from billing_assets.warehouse.resource import WarehouseResource


def ledger_inputs(conn, end):
    grants = [Grant(g, t, k, a, aware(f), aware(x)) for g, t, k, a, f, x in conn.execute(
        "SELECT credit_grant_id, tenant_id, kind, amount_minor, effective_from, expires_at FROM staging.credit_grants "
        "ORDER BY credit_grant_id").fetchall()]
    free = {(p, g): (t, a) for p, g, t, a in conn.execute(
        "SELECT period_start, credit_grant_id, tenant_id, available_minor FROM revenue.credit_availability "
        "WHERE kind = 'free_monthly' AND period_start < ?", [end]).fetchall()}
    lines = [CreditLine(*row) for row in conn.execute(
        "SELECT i.period_start, l.credit_grant_id, i.tenant_id, i.invoice_id, l.line_id, l.amount_minor "
        "FROM revenue.tenant_invoice_lines l JOIN revenue.tenant_invoices i USING (invoice_id) "
        "WHERE l.kind = 'credit' AND i.status <> 'void' AND i.period_start < ?", [end]).fetchall()]
    return grants, free, lines


def ledger_metadata(conn, start: datetime, end: datetime) -> dict[str, object]:
    """One month's ledger entries and balances for its partition's page."""
    params = {"s": start, "e": end}
    entries = conn.execute("SELECT count(*) FROM revenue.credit_ledger WHERE period_start >= $s AND period_start < $e",
                           params).fetchone()[0]
    balances = markdown_preview(
        conn, "SELECT strftime(b.period_start, '%Y-%m') AS month, t.slug AS tenant, b.kind, b.credit_grant_id, "
              "b.granted_minor, b.consumed_minor, b.expired_minor, b.remaining_minor FROM revenue.credit_balances b "
              "LEFT JOIN staging.tenants t USING (tenant_id) WHERE b.period_start >= $s AND b.period_start < $e "
              "ORDER BY 1, 2, 4", params, limit=40)
    return {"dagster/row_count": entries, "balances": dg.MetadataValue.md(balances)}


@dg.asset(**MONTHLY, group_name="revenue", kinds={"duckdb"}, owners=["team:billing"], deps=["tenant_invoices"],
          check_specs=[
              dg.AssetCheckSpec("balances_never_negative", asset="credit_ledger",
                                description="No grant's remaining balance is ever below zero."),
              dg.AssetCheckSpec("consumed_plus_expired_plus_remaining_equals_granted", asset="credit_ledger",
                                description="For every grant at every month end: consumed + expired + remaining = granted."),
          ])
def credit_ledger(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """Per credit grant: granted, consumed (by which invoice line), reversed, expired; and per-grant
    balances at each month end (per-tenant totals in marts.tenant_credit_balances)."""
    start, end = month_window(context)
    with warehouse.connect() as conn:
        grants, free, lines = ledger_inputs(conn, end)
        first = min([g.effective_from.replace(tzinfo=None) for g in grants] + [p for p, _ in free] +
                    [line.period_start for line in lines] + [start])
        first = first.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        history = months_in(Period(first.replace(tzinfo=UTC), end.replace(tzinfo=UTC)))
        entries, balances = build_ledger(history, grants, free, lines)
        window_entries = [e for e in entries if start <= e.period_start < end]
        window_balances = [b for b in balances if start <= b.period_start < end]
        with transaction(conn):
            for table in ("credit_ledger", "credit_balances"):
                conn.execute(f"DELETE FROM revenue.{table} WHERE period_start >= ? AND period_start < ?",  # noqa: S608
                             [start, end])
            insert_rows(conn, "revenue.credit_ledger",
                        [[e.entry_id, e.period_start, e.credit_grant_id, e.tenant_id, e.kind, e.entry_type, e.amount,
                          e.invoice_id, e.line_id] for e in window_entries])
            insert_rows(conn, "revenue.credit_balances",
                        [[b.period_start, b.credit_grant_id, b.tenant_id, b.kind, b.granted, b.consumed, b.expired,
                          b.remaining] for b in window_balances])
        yield from monthly_results(context, {"dagster/column_schema": table_schema(conn, "revenue.credit_ledger")},
                                   partial(ledger_metadata, conn))
    negative = [b for b in window_balances if b.remaining < 0]
    unbalanced = [b for b in window_balances if b.consumed + b.expired + b.remaining != b.granted]
    for name, found in (("balances_never_negative", negative),
                        ("consumed_plus_expired_plus_remaining_equals_granted", unbalanced)):
        yield dg.AssetCheckResult(check_name=name, passed=not found, severity=dg.AssetCheckSeverity.ERROR,
                                  metadata={"findings": len(found), "details": dg.MetadataValue.md(md_bullets([
                                      f"{b.period_start:%Y-%m} {b.credit_grant_id}: granted {b.granted}, consumed "
                                      f"{b.consumed}, expired {b.expired}, remaining {b.remaining}" for b in found]))})
