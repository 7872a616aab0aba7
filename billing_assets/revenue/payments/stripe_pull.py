"""Reading collection from Stripe: its events from our cursor, or (weekly, and on the first run) every
invoice listed by customer. Both end in the same writes: Stripe's state per invoice, then payments,
paid and void documents derived from that state in one transaction with the cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from billing_assets.ids import stable_id
from billing_assets.revenue.invoicing import store
from billing_assets.revenue.payments.stripe_events import (
    CURSOR_OVERLAP_S,
    SYNC_EVENT_TYPES,
    Changes,
    Ours,
    apply_events,
    status_row,
    utc,
)
from billing_assets.revenue.payments.stripe_push import PAYMENT_NAMESPACE
from billing_assets.warehouse import insert_rows, registered

PAGE = 100  # Stripe's largest page
EVENTS_RETAINED = timedelta(days=29)  # Stripe lists 30 days of events; older than that, reconcile in full
CURSOR = "events"
PAYMENT_COLUMNS = {"payment_id": pl.String, "invoice_id": pl.String, "tenant_id": pl.String,
                   "stripe_invoice_id": pl.String, "amount_minor": pl.Int64, "currency": pl.String,
                   "paid_at": pl.Datetime("us"), "recorded_at": pl.Datetime("us")}
STATUS_COLUMNS = ("stripe_invoice_id, invoice_id, status, total_minor, amount_due_minor, amount_paid_minor, "
                  "amount_remaining_minor, pre_payment_credit_notes_minor, post_payment_credit_notes_minor, "
                  "customer_credit_applied_minor, checked_at, paid_at, evidence_event_id, evidence_at")


def load_ours(conn) -> tuple[Ours, tuple[datetime | None, str | None] | None]:
    """The documents pushed, the state held and the events applied; and the cursor (None: never synced)."""
    documents = {r[0]: (r[1], r[2], r[3]) for r in conn.execute(
        "SELECT stripe_object_id, invoice_id, tenant_id, currency FROM revenue.stripe_documents "
        "WHERE object_type = 'invoice'").fetchall()}
    statuses = {r[0]: list(r) for r in conn.execute(
        f"SELECT {STATUS_COLUMNS} FROM revenue.stripe_invoice_status").fetchall()}  # noqa: S608
    charges = {r[0]: list(r) for r in conn.execute("SELECT * FROM revenue.stripe_charges").fetchall()}
    cursor = conn.execute("SELECT last_event_at, last_event_id FROM revenue.stripe_sync_cursor WHERE cursor_name = ?",
                          [CURSOR]).fetchone()
    since = cursor[0] - timedelta(seconds=CURSOR_OVERLAP_S) if cursor and cursor[0] else None
    applied = {r[0] for r in conn.execute("SELECT event_id FROM revenue.stripe_events WHERE created_at >= ?",
                                          [since]).fetchall()} if since else set()
    return Ours(documents, statuses, charges, applied), cursor


def listed(list_call, params: dict) -> tuple[list[dict], int]:
    """Every object a Stripe list returns, paging with starting_after; and the API calls it took."""
    params, objects, calls = dict(params), [], 0
    while True:
        page = list_call(params)
        calls += 1
        objects += [o.to_dict() for o in page.data]
        if not page.has_more or not page.data:
            return objects, calls
        params["starting_after"] = page.data[-1].id


def read_events(client, since: datetime | None) -> tuple[list[dict], int]:
    """Every event of the synced types created at or after `since` (all Stripe still holds when None)."""
    params: dict = {"limit": PAGE, "types": list(SYNC_EVENT_TYPES)}
    if since is not None:
        params["created"] = {"gte": int(since.replace(tzinfo=UTC).timestamp())}
    return listed(client.v1.events.list, params)


def newest_event(client) -> tuple[list[dict], int]:
    """The newest event of the synced types (the cursor a full reconcile starts the events from)."""
    page = client.v1.events.list({"limit": 1, "types": list(SYNC_EVENT_TYPES)})
    return [e.to_dict() for e in page.data], 1


def list_invoices(client, customers: list[str]) -> tuple[dict[str, dict], int]:
    """Every invoice of our customers, listed per customer (not one call per invoice)."""
    found, calls = {}, 0
    for customer in customers:
        invoices, used = listed(client.v1.invoices.list, {"limit": PAGE, "customer": customer})
        found.update({i["id"]: i for i in invoices})
        calls += used
    return found, calls


def listed_state(ours: Ours, invoices: dict[str, dict], now: datetime, as_of: datetime | None) -> dict[str, list]:
    """Status rows from a full listing, for every invoice we pushed that Stripe holds."""
    return {sid: status_row(invoices[sid], invoice_id, now, None, as_of)
            for sid, (invoice_id, _, _) in ours.documents.items() if sid in invoices}


COMPARED = {"status": 2, "total_minor": 3, "amount_due_minor": 4, "amount_paid_minor": 5, "amount_remaining_minor": 6}


def differences(held: dict[str, list], listed: dict[str, list], documents: dict) -> list[list]:
    """Where the state built from events differs from a full listing: (stripe id, invoice id, field, ours, listed)."""
    out = []
    for sid in sorted(set(held) | set(listed)):
        mine, theirs = held.get(sid), listed.get(sid)
        invoice_id = documents.get(sid, (None,))[0] or (mine or theirs)[1]
        for name, index in COMPARED.items():
            a, b = (None if mine is None else mine[index]), (None if theirs is None else theirs[index])
            if a != b:
                out.append([sid, invoice_id, name, None if a is None else str(a), None if b is None else str(b)])
    return out


def write(conn, changes: Changes, cursor: tuple[datetime | None, str | None], mode: str, now: datetime) -> None:
    """Everything one sync learned, then what follows from it; the caller holds the transaction."""
    for table, key, replaced, columns in (
            ("revenue.stripe_invoice_status", "stripe_invoice_id", changes.statuses, STATUS_COLUMNS.split(", ")),
            ("revenue.stripe_charges", "charge_id", changes.charges, None),
            ("revenue.stripe_disputes", "dispute_id", changes.disputes, None)):  # latest row per id
        if replaced:
            conn.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT unnest(?))", [sorted(replaced)])  # noqa: S608
            insert_rows(conn, table, list(replaced.values()), columns)
    for table, rows in (("revenue.stripe_events", changes.events), ("revenue.stripe_refunds", changes.refunds),
                        ("revenue.payment_failures", changes.failures)):
        insert_rows(conn, table, rows)
    last_at, last_id = cursor
    conn.execute("INSERT OR REPLACE INTO revenue.stripe_sync_cursor VALUES (?, ?, ?, ?, ?)",
                 [CURSOR, last_at, last_id, now, mode])
    derive_from_state(conn, now)


def collected_payments(rows: list[tuple], recorded: dict[str, tuple[int, int]], now: datetime) -> pl.DataFrame:
    """What Stripe reports paid beyond the payments we hold becomes one more payment: a partial
    payment is recorded when seen, and the rest when it comes. The first payment of an invoice keeps
    the id it always had (uuid5 of the Stripe invoice), so a payment recorded before stays the one."""
    out = []
    for invoice_id, stripe_id, tenant_id, currency, amount_paid, paid_at in rows:
        held, count = recorded.get(stripe_id, (0, 0))
        if amount_paid > held:
            name = f"payment/{stripe_id}" + (f"/{count}" if count else "")
            out.append([stable_id(PAYMENT_NAMESPACE, name), invoice_id, tenant_id, stripe_id,
                        amount_paid - held, currency, paid_at or now, now])
    return pl.DataFrame(out, schema=PAYMENT_COLUMNS, orient="row")


def derive_from_state(conn, now: datetime) -> None:
    """Payments, paid and void documents follow from Stripe's state (an invoice Stripe reports paid is
    paid here unless one of its payments was reversed)."""
    rows = conn.execute(
        "SELECT s.invoice_id, s.stripe_invoice_id, d.tenant_id, d.currency, s.amount_paid_minor, s.paid_at "
        "FROM revenue.stripe_invoice_status s JOIN revenue.stripe_documents d ON d.stripe_object_id = "
        "s.stripe_invoice_id ORDER BY 2").fetchall()
    recorded = {r[0]: (r[1], r[2]) for r in conn.execute(
        "SELECT stripe_invoice_id, sum(amount_minor), count(*) FROM revenue.payments GROUP BY 1").fetchall()}
    with registered(conn, "collected", collected_payments(rows, recorded, now)):
        conn.execute("INSERT INTO revenue.payments SELECT * FROM collected")
    store.mark_paid(conn, [r[0] for r in conn.execute(
        "SELECT s.invoice_id FROM revenue.stripe_invoice_status s WHERE s.status = 'paid' AND s.invoice_id "
        "NOT IN (SELECT p.invoice_id FROM revenue.payments p JOIN revenue.payment_reversals USING (payment_id)) "
        "ORDER BY 1").fetchall()])
    store.void_documents(conn, [r[0] for r in conn.execute(
        "SELECT invoice_id FROM revenue.stripe_invoice_status WHERE status = 'void' ORDER BY 1").fetchall()])


def full_reconcile(client, ours: Ours, customers: list[str], now: datetime
                   ) -> tuple[Changes, list[list], int, tuple[datetime | None, str | None]]:
    """Stripe's state of every invoice we pushed, listed per customer, against the state held: the
    changes that make ours equal to the listing, the differences found, API calls, and the newest
    event before the listing (where reading events may start without missing anything)."""
    newest, first_calls = newest_event(client)
    invoices, calls = list_invoices(client, customers)
    as_of = utc(newest[0]["created"]) if newest else None
    state = listed_state(ours, invoices, now, as_of)
    found = differences(ours.statuses, state, ours.documents)
    changed = {sid for sid, *_ in found}
    return (Changes(statuses={sid: row for sid, row in state.items() if sid in changed or sid not in ours.statuses}),
            found, first_calls + calls, (as_of, newest[0]["id"] if newest else None))


def sync_events(client, ours: Ours, cursor: tuple[datetime | None, str | None], now: datetime
                ) -> tuple[Changes, int, int, tuple[datetime | None, str | None]]:
    """The events since the cursor (less the overlap; every event Stripe holds when the cursor is
    empty) applied: changes, events read, API calls, the new cursor."""
    cursor_at, cursor_id = cursor
    since = None if cursor_at is None else cursor_at - timedelta(seconds=CURSOR_OVERLAP_S)
    events, calls = read_events(client, since)
    changes = apply_events(events, ours, now)
    candidates = [c for c in (changes.newest, None if cursor_at is None else (cursor_at, cursor_id or "")) if c]
    return changes, len(events), calls, max(candidates) if candidates else (None, None)
