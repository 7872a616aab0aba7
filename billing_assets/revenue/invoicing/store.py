"""Reading and writing invoice documents in the warehouse: the only code that writes revenue.tenant_invoices
and its lines. Every status change is one function here, one per lifecycle transition:

    draft --issue_drafts--> issued --mark_paid--> paid --reopen_after_payment_reversal--> issued
    issued | paid --void_documents--> void          draft --delete_draft--> (gone; drafts only)
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from decimal import Decimal

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
from billing_assets.warehouse import insert_rows

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


def lines_of(conn, invoice_id: str) -> tuple[RatedLine, ...]:
    rows = conn.execute(f"SELECT {', '.join(LINE_COLUMNS)} FROM revenue.tenant_invoice_lines "  # noqa: S608
                        "WHERE invoice_id = ? ORDER BY line_number", [invoice_id]).fetchall()
    return tuple(_line(r) for r in rows)


def existing_documents(conn, tenant_id: str, period: Period) -> list[ExistingDocument]:
    rows = conn.execute(
        "SELECT invoice_id, correction_seq, status, content_sha256 FROM revenue.tenant_invoices "
        "WHERE tenant_id = ? AND period_start = ? ORDER BY correction_seq",
        [tenant_id, period.start.replace(tzinfo=None)]).fetchall()
    return [ExistingDocument(i, seq, InvoiceStatus(status), sha, lines_of(conn, i)) for i, seq, status, sha in rows]


def delete_draft(conn, invoice_id: str) -> None:
    status = conn.execute("SELECT status FROM revenue.tenant_invoices WHERE invoice_id = ?", [invoice_id]).fetchone()
    if status and status[0] != InvoiceStatus.DRAFT:
        raise RuntimeError(f"refusing to delete {status[0]} invoice {invoice_id}: issued documents are immutable")
    conn.execute("DELETE FROM revenue.tenant_invoice_lines WHERE invoice_id = ?", [invoice_id])
    conn.execute("DELETE FROM revenue.tenant_invoices WHERE invoice_id = ?", [invoice_id])


def insert_document(conn, doc: Document, computed_at: datetime) -> None:
    conn.execute(
        "INSERT INTO revenue.tenant_invoices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
        [doc.invoice_id, doc.invoice_number, doc.tenant.tenant_id, doc.period.start.replace(tzinfo=None),
         doc.period.end.replace(tzinfo=None), doc.document_type, doc.correction_seq, doc.corrects_invoice_id,
         doc.currency, doc.subtotal, doc.tax, doc.total, doc.tax_rate, doc.tax_label, InvoiceStatus.DRAFT,
         doc.content_sha256, computed_at.replace(tzinfo=None)])
    insert_rows(conn, "revenue.tenant_invoice_lines", [[row[c] for c in LINE_COLUMNS] for row in doc.line_rows()],
                LINE_COLUMNS)


def stored_document(conn, invoice_id: str) -> Document:
    """Rebuild a document from its rows (used to prove issued documents unchanged)."""
    row = conn.execute(
        "SELECT i.invoice_id, i.invoice_number, i.tenant_id, i.period_start, i.period_end, i.document_type, "
        "i.correction_seq, i.corrects_invoice_id, i.currency, i.tax_rate, i.tax_label, t.slug, t.name, "
        "t.tax_jurisdiction, t.segment, t.is_internal FROM revenue.tenant_invoices i "
        "LEFT JOIN staging.tenants t USING (tenant_id) WHERE i.invoice_id = ?", [invoice_id]).fetchone()
    (inv, number, tenant_id, start, end, doc_type, seq, corrects, currency, rate, label, slug, name, juris,
     segment, internal) = row
    tenant = Tenant(tenant_id, slug, name, currency, juris, segment, internal)
    return Document(inv, number, tenant, Period(aware(start), aware(end)), DocumentType(doc_type), seq, corrects, currency,
                    Decimal(rate).normalize(), label, list(lines_of(conn, inv)))


def next_document_number(conn, series: str) -> str:
    """Draw the next number of a series (gapless: numbers are drawn only inside the issuing transaction)."""
    n = conn.execute(
        "INSERT INTO revenue.document_number_series VALUES (?, 1) ON CONFLICT (series) "
        "DO UPDATE SET last_number = last_number + 1 RETURNING last_number", [series]).fetchone()[0]
    return document_number(series, n)


def issue_drafts(conn, start: datetime, end: datetime, issued_by: str, now: datetime) -> list[str]:
    """Number the window's drafts, move them to issued and record each one's content hash (append-only).

    Numbers follow (period, tenant, correction) order, so issuing the same drafts always numbers them alike."""
    drafts = conn.execute(
        "SELECT invoice_id, document_type, period_start FROM revenue.tenant_invoices WHERE status = ? "
        "AND period_start >= ? AND period_start < ? ORDER BY period_start, tenant_id, correction_seq",
        [InvoiceStatus.DRAFT, start, end]).fetchall()
    for invoice_id, document_type, period_start in drafts:
        number = next_document_number(conn, number_series(DocumentType(document_type), period_start))
        doc = replace(stored_document(conn, invoice_id), invoice_number=number)
        conn.execute("UPDATE revenue.tenant_invoices SET invoice_number = ?, status = ?, issued_at = ?, "
                     "content_sha256 = ? WHERE invoice_id = ?",
                     [number, InvoiceStatus.ISSUED, now.replace(tzinfo=None), doc.content_sha256, invoice_id])
        conn.execute("INSERT INTO revenue.invoice_issue_log VALUES (?, ?, ?, ?)",
                     [invoice_id, doc.content_sha256, now.replace(tzinfo=None), issued_by])
    return [d[0] for d in drafts]


def changed_issued_documents(conn, start: datetime, end: datetime) -> list[tuple[str, str]]:
    """Issued documents whose content no longer hashes to what was recorded when they were issued."""
    found = []
    for invoice_id, number, logged in conn.execute(
            "SELECT i.invoice_id, i.invoice_number, g.content_sha256 FROM revenue.tenant_invoices i "
            "JOIN revenue.invoice_issue_log g USING (invoice_id) WHERE i.period_start >= ? AND i.period_start < ?",
            [start, end]).fetchall():
        if stored_document(conn, invoice_id).content_sha256 != logged:
            found.append((number, f"content differs from what was issued (hash {logged[:12]}…)"))
    return found


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
