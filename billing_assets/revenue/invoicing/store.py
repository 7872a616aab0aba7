"""Reading and writing invoice documents in the warehouse: the only code that writes revenue.tenant_invoices
and its lines. Every status change is one function here, one per lifecycle transition:

    draft --issue_drafts--> issued --mark_paid--> paid --reopen_after_payment_reversal--> issued
    issued | paid --void_documents--> void          draft --delete_draft--> (gone; drafts only)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import polars as pl

from billing_assets.periods import Period, aware
from billing_assets.revenue.invoicing.documents import (
    Document,
    DocumentType,
    ExistingDocument,
    InvoiceStatus,
    Tenant,
    document_number,
    number_series,
)
from billing_assets.revenue.invoicing.rating import LineKind, RatedLine
from billing_assets.warehouse import insert_rows, registered, run_sql

LINE_COLUMNS = ("invoice_id", "line_number", "line_id", "kind", "description", "tenant_id", "deployment_id",
                "subscription_id", "metric", "add_on_code", "plan_version_id", "credit_grant_id", "quantity",
                "unit_amount_minor", "amount_minor", "tax_rate", "service_start", "service_end", "usage_period_start")


def _line(row: tuple) -> RatedLine:
    r = dict(zip(LINE_COLUMNS, row, strict=True))
    return RatedLine(
        kind=LineKind(r["kind"]), description=r["description"], quantity=Decimal(r["quantity"]).normalize(),
        unit_amount=Decimal(r["unit_amount_minor"]).normalize() if r["unit_amount_minor"] is not None else None,
        amount=int(r["amount_minor"]), deployment_id=r["deployment_id"], subscription_id=r["subscription_id"],
        metric=r["metric"], plan_version_id=r["plan_version_id"], add_on_code=r["add_on_code"],
        service_start=aware(r["service_start"]), service_end=aware(r["service_end"]),
        tax_rate=Decimal(r["tax_rate"]).normalize() if r["tax_rate"] is not None else None,
        credit_grant_id=r["credit_grant_id"], usage_period_start=aware(r["usage_period_start"]))


def lines_of_documents(conn, invoice_ids: list[str]) -> dict[str, tuple[RatedLine, ...]]:
    """The lines of many documents in one query (empty tuple for a document without lines)."""
    found: dict[str, list[RatedLine]] = {i: [] for i in invoice_ids}
    if invoice_ids:
        for row in conn.execute(f"SELECT {', '.join(LINE_COLUMNS)} FROM revenue.tenant_invoice_lines "  # noqa: S608
                                "WHERE invoice_id IN (SELECT unnest(?)) ORDER BY invoice_id, line_number",
                                [invoice_ids]).fetchall():
            found[row[0]].append(_line(row))
    return {i: tuple(lines) for i, lines in found.items()}


def existing_documents(conn, period: Period) -> dict[str, list[ExistingDocument]]:
    """Every document of the period, by tenant id, in correction order: two queries for the whole month
    (lines only for documents that were issued: drafts are compared by hash)."""
    rows = conn.execute(
        "SELECT tenant_id, invoice_id, correction_seq, status, content_sha256, total_minor FROM revenue.tenant_invoices "
        "WHERE period_start = ? ORDER BY tenant_id, correction_seq", [period.start.replace(tzinfo=None)]).fetchall()
    lines = lines_of_documents(conn, [r[1] for r in rows if r[3] != InvoiceStatus.DRAFT])
    found: dict[str, list[ExistingDocument]] = {}
    for tenant_id, invoice_id, seq, status, sha, total in rows:
        found.setdefault(tenant_id, []).append(ExistingDocument(invoice_id, seq, InvoiceStatus(status), sha, total,
                                                                lines.get(invoice_id, ())))
    return found


def delete_drafts(conn, invoice_ids: list[str]) -> None:
    """Remove drafts about to be recomputed; refuses (and deletes nothing) if any of them is not a draft."""
    if not invoice_ids:
        return
    issued = conn.execute("SELECT invoice_id, status FROM revenue.tenant_invoices WHERE invoice_id IN "
                          "(SELECT unnest(?)) AND status <> ? ORDER BY 1 LIMIT 1",
                          [invoice_ids, InvoiceStatus.DRAFT]).fetchall()
    if issued:
        raise RuntimeError(f"refusing to delete {issued[0][1]} invoice {issued[0][0]}: issued documents are immutable")
    conn.execute("DELETE FROM revenue.tenant_invoice_lines WHERE invoice_id IN (SELECT unnest(?))", [invoice_ids])
    conn.execute("DELETE FROM revenue.tenant_invoices WHERE invoice_id IN (SELECT unnest(?))", [invoice_ids])


DOCUMENT_COLUMNS = ("invoice_id", "invoice_number", "tenant_id", "period_start", "period_end", "document_type",
                    "correction_seq", "corrects_invoice_id", "currency", "subtotal_minor", "tax_minor", "total_minor",
                    "tax_rate", "tax_label", "status", "content_sha256", "computed_at")


def insert_documents(conn, docs: list[Document], computed_at: datetime) -> None:
    """New drafts and their lines: one bulk insert per table, whatever the number of documents."""
    insert_rows(conn, "revenue.tenant_invoices", [
        [d.invoice_id, d.invoice_number, d.tenant.tenant_id, d.period.start.replace(tzinfo=None),
         d.period.end.replace(tzinfo=None), d.document_type, d.correction_seq, d.corrects_invoice_id, d.currency,
         d.subtotal, d.tax, d.total, d.tax_rate, d.tax_label, InvoiceStatus.DRAFT, d.content_sha256,
         computed_at.replace(tzinfo=None)] for d in docs], DOCUMENT_COLUMNS)
    insert_rows(conn, "revenue.tenant_invoice_lines",
                [[row[c] for c in LINE_COLUMNS] for d in docs for row in d.line_rows()], LINE_COLUMNS)


def stored_documents(conn, invoice_ids: list[str]) -> dict[str, Document]:
    """Rebuild documents from their rows, two queries for any number (to prove issued ones unchanged)."""
    if not invoice_ids:
        return {}
    rows = conn.execute(
        "SELECT i.invoice_id, i.invoice_number, i.tenant_id, i.period_start, i.period_end, i.document_type, "
        "i.correction_seq, i.corrects_invoice_id, i.currency, i.tax_rate, i.tax_label, t.slug, t.name, "
        "t.tax_jurisdiction, t.segment, t.is_internal FROM revenue.tenant_invoices i "
        "LEFT JOIN staging.tenants t USING (tenant_id) WHERE i.invoice_id IN (SELECT unnest(?))",
        [invoice_ids]).fetchall()
    lines = lines_of_documents(conn, [r[0] for r in rows])
    found = {}
    for (inv, number, tenant_id, start, end, doc_type, seq, corrects, currency, rate, label, slug, name, juris,
         segment, internal) in rows:
        tenant = Tenant(tenant_id, slug, name, currency, juris, segment, internal)
        found[inv] = Document(inv, number, tenant, Period(aware(start), aware(end)), DocumentType(doc_type), seq,
                              corrects, currency, Decimal(rate).normalize(), label, list(lines[inv]))
    return found


def documents_in(conn, start: datetime, end: datetime) -> int:
    """How many documents (any status) the window's months have: none means the month was never invoiced."""
    return conn.execute("SELECT count(*) FROM revenue.tenant_invoices WHERE period_start >= ? AND period_start < ?",
                        [start, end]).fetchone()[0]


def issue_drafts(conn, start: datetime, end: datetime, issued_by: str, now: datetime) -> list[str]:
    """Number the window's drafts, move them to issued and record each one's content hash (append-only).

    Numbers follow (period, tenant, correction) order, so issuing the same drafts always numbers them alike;
    each series' counter moves once, by as many numbers as it gave (gapless: only inside this transaction)."""
    drafts = conn.execute(
        "SELECT invoice_id, document_type, period_start FROM revenue.tenant_invoices WHERE status = ? "
        "AND period_start >= ? AND period_start < ? ORDER BY period_start, tenant_id, correction_seq",
        [InvoiceStatus.DRAFT, start, end]).fetchall()
    if not drafts:
        return []
    series_of = {i: number_series(DocumentType(t), p) for i, t, p in drafts}
    last = dict(conn.execute("SELECT series, last_number FROM revenue.document_number_series WHERE series IN "
                             "(SELECT unnest(?))", [sorted(set(series_of.values()))]).fetchall())
    documents = stored_documents(conn, [d[0] for d in drafts])
    issued = []
    for invoice_id, _, _ in drafts:
        series = series_of[invoice_id]
        last[series] = last.get(series, 0) + 1
        doc = replace(documents[invoice_id], invoice_number=document_number(series, last[series]))
        issued.append([invoice_id, doc.invoice_number, doc.content_sha256])
    frame = pl.DataFrame(issued, schema=["invoice_id", "invoice_number", "content_sha256"], orient="row")
    with registered(conn, "issued_now", frame):
        run_sql(conn, "invoicing/issue_drafts.sql", {"series": list(last), "last_numbers": list(last.values()),
                                                     "issued_at": now.replace(tzinfo=None), "issued_by": issued_by,
                                                     "draft": InvoiceStatus.DRAFT, "issued": InvoiceStatus.ISSUED})
    return [d[0] for d in drafts]


def changed_issued_documents(conn, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """Issued documents whose content no longer hashes to what was recorded when they were issued."""
    logged = conn.execute(
        "SELECT i.invoice_id, i.invoice_number, g.content_sha256 FROM revenue.tenant_invoices i "
        "JOIN revenue.invoice_issue_log g USING (invoice_id) WHERE i.period_start >= ? AND i.period_start < ? "
        "ORDER BY i.invoice_number", [start, end]).fetchall()
    documents = stored_documents(conn, sorted({r[0] for r in logged}))
    return [(number, f"content differs from what was issued (hash {sha[:12]}…)")
            for invoice_id, number, sha in logged if documents[invoice_id].content_sha256 != sha]


def _move(conn, invoice_ids: list[str], to: InvoiceStatus, allowed_from: tuple[InvoiceStatus, ...]) -> list[str]:
    """Move the listed documents that are in one of `allowed_from` to `to`; returns the ids moved."""
    if not invoice_ids:
        return []
    moved = [r[0] for r in conn.execute(
        "SELECT invoice_id FROM revenue.tenant_invoices WHERE invoice_id IN (SELECT unnest(?)) "
        "AND list_contains(?, status) ORDER BY invoice_id", [invoice_ids, list(allowed_from)]).fetchall()]
    if moved:
        conn.execute("UPDATE revenue.tenant_invoices SET status = ? WHERE invoice_id IN (SELECT unnest(?))",
                     [to, moved])
    return moved


def mark_paid(conn, invoice_ids: list[str]) -> list[str]:
    """Issued documents whose payment was collected become paid."""
    return _move(conn, invoice_ids, InvoiceStatus.PAID, (InvoiceStatus.ISSUED,))


def void_documents(conn, invoice_ids: list[str]) -> list[str]:
    """Issued or paid documents voided at the payment provider become void (never deleted)."""
    return _move(conn, invoice_ids, InvoiceStatus.VOID, (InvoiceStatus.ISSUED, InvoiceStatus.PAID))


def reopen_after_payment_reversal(conn, invoice_id: str) -> list[str]:
    """A paid document whose payment was reversed is owed again: back to issued."""
    return _move(conn, [invoice_id], InvoiceStatus.ISSUED, (InvoiceStatus.PAID,))
