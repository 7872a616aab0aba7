"""Reading what the books should hold and recording what they received (books.* tables)."""

from __future__ import annotations

from datetime import datetime
from itertools import groupby

from billing_assets.books.payloads import CostLine, DocumentLine, Payable, Receivable
from billing_assets.sql_files import read_sql


def _window(start: datetime, end: datetime) -> dict:
    return {"window_start": start, "window_end": end}


def payables(conn, start: datetime, end: datetime) -> list[Payable]:
    rows = conn.execute(read_sql("books/payables.sql"), _window(start, end)).fetchall()
    return [Payable(uuid, invoice_id, period, lines[0][3], tuple(CostLine(*r[4:]) for r in lines))
            for (uuid, invoice_id, period), group in groupby(rows, key=lambda r: r[:3])
            for lines in [list(group)]]


def receivables(conn, start: datetime, end: datetime) -> list[Receivable]:
    lines: dict[str, list[DocumentLine]] = {}
    for row in conn.execute(read_sql("books/receivable_lines.sql"), _window(start, end)).fetchall():
        lines.setdefault(row[0], []).append(DocumentLine(*row[1:]))
    return [Receivable(*row, lines=tuple(lines.get(row[0], ())))
            for row in conn.execute(read_sql("books/receivables.sql"), _window(start, end)).fetchall()]


def pushed_hashes(conn, target: str, document_kind: str) -> dict[str, tuple[str, str]]:
    """document id -> (remote id, payload hash) of what the target already holds."""
    return {d: (r, h) for d, r, h in conn.execute(
        "SELECT document_id, remote_id, payload_sha256 FROM books.pushed_documents WHERE target = ? "
        "AND document_kind = ?", [target, document_kind]).fetchall()}


def record_push(conn, target: str, document_kind: str, document_id: str, period_start: datetime, remote_id: str,
                currency: str, total_minor: int, tax_minor: int, payload_sha256: str, action: str,
                now: datetime) -> None:
    """The target holds the document (as `action` says): its current row, and a line in the log.
    Called right after each success, in its own transaction, so a later failure loses nothing."""
    if action != "skipped":
        conn.execute("INSERT OR REPLACE INTO books.pushed_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [target, document_kind, document_id, period_start, remote_id, currency, total_minor, tax_minor,
                      payload_sha256, now])
    conn.execute("INSERT INTO books.push_log VALUES (?, ?, ?, ?, ?, ?, ?)",
                 [target, document_kind, document_id, action, remote_id, payload_sha256, now])
