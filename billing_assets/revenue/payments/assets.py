"""Stripe invoicing and collection, and the double-entry journal."""

from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
import stripe as stripe_sdk

from billing_assets.assets_common import DUCKDB_POOL, md_bullets, md_table, table_schema
from billing_assets.revenue.invoicing import store
from billing_assets.revenue.payments import stripe_pull
from billing_assets.revenue.payments.journal import (
    document_postings,
    payment_postings,
    reversal_postings,
    unbalanced,
)
from billing_assets.revenue.payments.resources import StripeResource
from billing_assets.revenue.payments.stripe_push import (
    ACCOUNT_ERRORS,
    PushRefused,
    is_permanent,
    push_document,
    stripe_message,
)
from billing_assets.secrets import SecretError
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, transaction
from billing_assets.warehouse.resource import WarehouseResource

COMMON = {"group_name": "revenue", "owners": ["team:billing"]}
NOT_CONFIGURED = "Stripe not configured (STRIPE_API_KEY unset): nothing was pushed or pulled"
FAILURES_SHOWN = 20  # in the failure's message; the metadata lists every one
STRIPE_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

def _table_metadata(warehouse: WarehouseResource, table: str) -> dict:
    with warehouse.connect() as conn:
        return {"dagster/row_count": conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0],  # noqa: S608
                "dagster/column_schema": table_schema(conn, table)}


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@contextmanager
def stripe_errors(api_key: str | None):
    """Stripe failures surface redacted; the ones retrying cannot heal (a bad or unauthorised key, a
    refused request) fail the step at once instead of going through the retry policy."""
    try:
        yield
    except SecretError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    except stripe_sdk.StripeError as exc:
        if is_permanent(exc):
            raise dg.Failure(stripe_message(exc, api_key), allow_retries=False) from None
        raise RuntimeError(stripe_message(exc, api_key)) from None


@dg.asset(**COMMON, kinds={"stripe", "duckdb"}, pool=DUCKDB_POOL, retry_policy=STRIPE_RETRY,
          deps=["tenant_invoices"])
def stripe_invoices(context: dg.AssetExecutionContext, stripe: StripeResource, warehouse: WarehouseResource):
    """Every issued document not yet in Stripe is reconciled into it (customer per tenant, one item
    per line, finalized only when Stripe's total equals ours; credit notes as Stripe credit notes),
    and recorded the moment it is there. One document's failure does not stop the others: the step
    fails at the end naming each document that did not go through, and why."""
    if not stripe.configured:
        context.log.info(NOT_CONFIGURED)
        return dg.MaterializeResult(metadata={"stripe": NOT_CONFIGURED, "pushed": 0,
                                              **_table_metadata(warehouse, "revenue.stripe_documents")})
    with warehouse.connect() as conn:
        pending = conn.execute(
            "SELECT i.invoice_id, i.corrects_invoice_id, t.billing_email FROM revenue.tenant_invoices i "
            "JOIN staging.tenants t USING (tenant_id) LEFT JOIN revenue.stripe_documents s USING (invoice_id) "
            "WHERE i.status IN ('issued', 'paid') AND s.invoice_id IS NULL AND i.total_minor <> 0 "
            "ORDER BY i.period_start, i.tenant_id, i.correction_seq").fetchall()
        stored = store.stored_documents(conn, [r[0] for r in pending])
        originals = dict(conn.execute("SELECT invoice_id, stripe_object_id FROM revenue.stripe_documents").fetchall())
        customers = dict(conn.execute("SELECT tenant_id, min(stripe_customer_id) FROM revenue.stripe_documents "
                                      "GROUP BY 1").fetchall())
    pushed, failed = [], []
    with stripe_errors(stripe.api_key):
        client = stripe.client()
    for invoice_id, corrects, email in pending:  # network first; each success is recorded at once, below
        doc = stored[invoice_id]
        try:
            result = push_document(client, doc, email, originals.get(corrects), customers.get(doc.tenant.tenant_id))
        except ACCOUNT_ERRORS as exc:  # the key itself: every other document would fail alike
            raise dg.Failure(stripe_message(exc, stripe.api_key), allow_retries=False) from None
        except (stripe_sdk.StripeError, PushRefused) as exc:  # named by document, whatever the error
            failed.append((f"{doc.invoice_number}: {stripe_message(exc, stripe.api_key)}", is_permanent(exc)))
            context.log.error(failed[-1][0])
            continue
        pushed.append((doc, result))
        originals[doc.invoice_id] = result.stripe_object_id
        customers[doc.tenant.tenant_id] = result.stripe_customer_id
        with warehouse.connect() as conn, transaction(conn):
            conn.execute("INSERT INTO revenue.stripe_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [doc.invoice_id, doc.tenant.tenant_id, result.stripe_customer_id, result.stripe_object_id,
                          result.object_type, doc.total, doc.currency, _now()])
    pushed_md = dg.MetadataValue.md(md_bullets([f"{d.invoice_number} → {p.stripe_object_id}" for d, p in pushed]))
    if failed:
        raise dg.Failure(
            f"{len(failed)} of {len(pending)} documents did not go through to Stripe ({len(pushed)} did, and are "
            "recorded): " + "; ".join(message for message, _ in failed[:FAILURES_SHOWN])
            + (f"; and {len(failed) - FAILURES_SHOWN} more (metadata: failed_documents)"
               if len(failed) > FAILURES_SHOWN else ""),
            metadata={"pushed": len(pushed), "pushed_documents": pushed_md,
                      "failed_documents": dg.MetadataValue.md(md_bullets([m for m, _ in failed]))},
            allow_retries=not all(permanent for _, permanent in failed))
    return dg.MaterializeResult(metadata={
        "pushed": len(pushed), **_table_metadata(warehouse, "revenue.stripe_documents"),
        "pushed_documents": pushed_md})


def _drift_check(conn) -> dg.AssetCheckResult:
    drift = conn.execute(read_sql("payments/check_payment_drift.sql")).fetchall()
    return dg.AssetCheckResult(check_name="no_payment_drift", passed=not drift, severity=dg.AssetCheckSeverity.ERROR,
                               metadata={"findings": len(drift), "details": dg.MetadataValue.md(
                                   md_bullets([f"{k}: {s} ({a})" for k, s, a in drift]))})


def _held(conn) -> tuple:
    """What a sync starts from: our documents and state in Stripe, the cursor, the Stripe customers."""
    ours, cursor = stripe_pull.load_ours(conn)
    customers = [r[0] for r in conn.execute("SELECT DISTINCT stripe_customer_id FROM revenue.stripe_documents "
                                            "ORDER BY 1").fetchall()]
    return ours, cursor, customers


def _collection_metadata(conn) -> dict:
    """Counts for the run page. `disputes_undecided`: Stripe has not decided them yet (not won, lost or
    closed); the dunning suggestion counts every dispute not won, lost ones included."""
    statuses = dict(conn.execute("SELECT status, count(*) FROM revenue.stripe_invoice_status GROUP BY 1").fetchall())
    counts = conn.execute(
        "SELECT (SELECT count(*) FROM revenue.payments), (SELECT count(*) FROM revenue.payment_failures), "
        "(SELECT count(*) FROM revenue.stripe_refunds), (SELECT count(*) FROM revenue.stripe_disputes "
        "WHERE status NOT IN ('won', 'lost', 'warning_closed'))").fetchone()
    return {"payments": counts[0], "payment_failures": counts[1], "refunds": counts[2], "disputes_undecided": counts[3],
            "stripe_statuses": dg.MetadataValue.json(statuses)}


@dg.asset(**COMMON, kinds={"stripe", "duckdb"}, pool=DUCKDB_POOL, retry_policy=STRIPE_RETRY,
          deps=[stripe_invoices],
          check_specs=[dg.AssetCheckSpec("no_payment_drift", asset="stripe_payments",
                                         description="Issued invoices without a Stripe counterpart, payments without "
                                                     "an invoice, amount mismatches: each listed.")])
def stripe_payments(context: dg.AssetExecutionContext, stripe: StripeResource, warehouse: WarehouseResource):
    """Collection read from Stripe's events since the stored cursor (stripe_events.py has the rules):
    each event applied once, in created order; invoice states, payments (partial ones too), failed
    attempts, refunds and disputes recorded with the event as evidence, and the cursor moved, in one
    transaction. API calls follow the events, not the invoices. The first sync (no cursor), and a
    cursor older than Stripe keeps events, lists every invoice by customer instead."""
    if not stripe.configured:
        context.log.info(NOT_CONFIGURED)
        yield dg.MaterializeResult(metadata={"stripe": NOT_CONFIGURED,
                                             **_table_metadata(warehouse, "revenue.stripe_invoice_status")})
        yield dg.AssetCheckResult(check_name="no_payment_drift", passed=True, metadata={"stripe": NOT_CONFIGURED})
        return
    with warehouse.connect() as conn:
        ours, cursor, customers = _held(conn)
        if not ours.documents:  # nothing of ours in Stripe yet: nothing to learn, no call made
            yield dg.MaterializeResult(metadata={"mode": "nothing pushed", "api_calls": 0, **_collection_metadata(conn),
                                                 **_table_metadata(warehouse, "revenue.stripe_invoice_status")})
            yield _drift_check(conn)
            return
    now = _now()
    with stripe_errors(stripe.api_key):
        client = stripe.client()
        if cursor is None or (cursor[0] is not None and cursor[0] < now - stripe_pull.EVENTS_RETAINED):
            changes, found, calls, cursor = stripe_pull.full_reconcile(client, ours, customers, now)
            mode, read = "full_reconcile", {"invoices_differing": len({f[0] for f in found})}
        else:
            changes, events, calls, cursor = stripe_pull.sync_events(client, ours, cursor, now)
            mode, read = "events", {"events_read": events, "events_applied": len(changes.events),
                                    "replays_ignored": changes.replays}
    with warehouse.connect() as conn:
        with transaction(conn):
            stripe_pull.write(conn, changes, cursor, mode, now)
        context.log.info(f"{mode}: {calls} Stripe API calls for {len(ours.documents)} invoices pushed; {read}")
        yield dg.MaterializeResult(metadata={
            "mode": mode, "api_calls": calls, "invoices_pushed": len(ours.documents), **read,
            "cursor": str(cursor[0]) if cursor[0] else "none", **_collection_metadata(conn),
            **_table_metadata(warehouse, "revenue.stripe_invoice_status")})
        yield _drift_check(conn)


@dg.asset(**COMMON, kinds={"stripe", "duckdb"}, pool=DUCKDB_POOL, retry_policy=STRIPE_RETRY,
          deps=[stripe_payments],
          check_specs=[dg.AssetCheckSpec("events_agree_with_listing", asset="stripe_full_reconcile",
                                         description="The state Stripe's events built equals Stripe's invoices "
                                                     "listed in full; each difference listed (then repaired).")])
def stripe_full_reconcile(context: dg.AssetExecutionContext, stripe: StripeResource, warehouse: WarehouseResource):
    """Weekly: every invoice we pushed listed from Stripe by customer (one call per customer and page),
    compared field by field with the state the events built, and the listing kept where they differ.
    A difference means events were missed (or arrived after this listing): the check lists them."""
    if not stripe.configured:
        context.log.info(NOT_CONFIGURED)
        yield dg.MaterializeResult(metadata={"stripe": NOT_CONFIGURED, "dagster/row_count": 0})  # nothing listed
        yield dg.AssetCheckResult(check_name="events_agree_with_listing", passed=True,
                                  metadata={"stripe": NOT_CONFIGURED})
        return
    with warehouse.connect() as conn:
        ours, cursor, customers = _held(conn)
    now = _now()
    with stripe_errors(stripe.api_key):
        client = stripe.client()
        changes, found, calls, listed_cursor = stripe_pull.full_reconcile(client, ours, customers, now)
    with warehouse.connect() as conn:
        with transaction(conn):
            insert_rows(conn, "revenue.stripe_reconcile_differences", [[now, *f] for f in found])
            stripe_pull.write(conn, changes, cursor or listed_cursor, "full_reconcile", now)
        yield dg.MaterializeResult(metadata={
            "api_calls": calls, "customers": len(customers), "invoices_pushed": len(ours.documents),
            "dagster/row_count": len(found),
            "dagster/column_schema": table_schema(conn, "revenue.stripe_reconcile_differences"),
            **_collection_metadata(conn)})
        yield dg.AssetCheckResult(
            check_name="events_agree_with_listing", passed=not found, severity=dg.AssetCheckSeverity.WARN,
            metadata={"differences": len(found), "details": dg.MetadataValue.md(md_table(
                [(sid, field, a, b) for sid, _, field, a, b in found[:50]],
                ("stripe invoice", "field", "from events", "listed")) if found else "none")})


@dg.asset(**COMMON, kinds={"duckdb"}, pool=DUCKDB_POOL, deps=["tenant_invoices", stripe_payments],
          check_specs=[
              dg.AssetCheckSpec("transactions_balance", asset="ledger_entries",
                                description="Debits equal credits in every transaction."),
              dg.AssetCheckSpec("receivables_match_stripe", asset="ledger_entries",
                                description="Per tenant, the open receivable equals what Stripe still expects."),
          ])
def ledger_entries(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
    """A double-entry journal (receivable, revenue, tax payable, cash) from issued documents,
    payments and payment reversals, rebuilt deterministically each run."""
    with warehouse.connect() as conn:
        postings = []
        for invoice_id, number, tenant, currency, subtotal, tax, total, issued_at in conn.execute(
                "SELECT invoice_id, invoice_number, tenant_id, currency, subtotal_minor, tax_minor, total_minor, "
                "issued_at FROM revenue.tenant_invoices WHERE status IN ('issued', 'paid') ORDER BY issued_at, "
                "invoice_id").fetchall():
            postings += document_postings(invoice_id, number, tenant, currency, subtotal, tax, total, issued_at)
        for payment_id, number, tenant, currency, amount, paid_at in conn.execute(
                "SELECT p.payment_id, i.invoice_number, p.tenant_id, p.currency, p.amount_minor, p.paid_at FROM "
                "revenue.payments p JOIN revenue.tenant_invoices i USING (invoice_id) ORDER BY 1").fetchall():
            postings += payment_postings(payment_id, number, tenant, currency, amount, paid_at)
        for reversal_id, payment_id, tenant, currency, amount, at in conn.execute(
                "SELECT reversal_id, payment_id, tenant_id, currency, original_amount_minor, reversed_at FROM "
                "revenue.payment_reversals ORDER BY 1").fetchall():
            postings += reversal_postings(reversal_id, payment_id, tenant, currency, amount, at)
        with transaction(conn):
            conn.execute("DELETE FROM revenue.ledger_entries")
            insert_rows(conn, "revenue.ledger_entries",
                        [[p.transaction_id, p.entry_number, p.posted_at, p.tenant_id, p.account, p.debit, p.credit,
                          p.currency, p.source_type, p.source_id, p.description] for p in postings])
        stripe_known = conn.execute("SELECT count(*) FROM revenue.stripe_invoice_status").fetchone()[0]
        mismatched = conn.execute(read_sql("payments/check_receivables.sql")).fetchall() if stripe_known else []
        preview = markdown_preview(conn, "SELECT * FROM marts.receivables ORDER BY 1, 2", limit=20)
    broken = unbalanced(postings)
    yield dg.MaterializeResult(metadata={"receivables": dg.MetadataValue.md(preview),
                                         **_table_metadata(warehouse, "revenue.ledger_entries")})
    yield dg.AssetCheckResult(check_name="transactions_balance", passed=not broken,
                              severity=dg.AssetCheckSeverity.ERROR, metadata={"unbalanced": dg.MetadataValue.md(md_bullets(
                                  [f"{t}: debits {d}, credits {c}" for t, d, c in broken]))})
    yield dg.AssetCheckResult(check_name="receivables_match_stripe", passed=not mismatched,
                              severity=dg.AssetCheckSeverity.WARN, metadata={
                                  "stripe": "compared" if stripe_known else NOT_CONFIGURED,
                                  "details": dg.MetadataValue.md(md_bullets([f"{t}: ours {o}, Stripe {s}"
                                                                      for t, o, s in mismatched]))})


stripe_sync = dg.define_asset_job("stripe_sync", selection=["stripe_invoices", "stripe_payments", "ledger_entries"],
                                  description="Push issued documents to Stripe, read what Stripe's events say about "
                                              "collection, rebuild the journal.")
stripe_weekly_reconcile = dg.define_asset_job(
    "stripe_weekly_reconcile", selection=["stripe_full_reconcile", "ledger_entries"],
    description="List every pushed invoice from Stripe by customer and check the event-built state against it.")
