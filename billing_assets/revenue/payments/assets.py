"""Stripe invoicing and collection, and the double-entry journal."""

import uuid
from contextlib import contextmanager
from datetime import UTC, datetime

import dagster as dg
import polars as pl
import stripe as stripe_sdk

from billing_assets.assets_common import DUCKDB_POOL, md_bullets, table_schema
from billing_assets.revenue.invoicing import store
from billing_assets.revenue.payments.journal import (
    document_postings,
    payment_postings,
    reversal_postings,
    unbalanced,
)
from billing_assets.revenue.payments.resources import StripeResource
from billing_assets.revenue.payments.stripe_push import (
    PAYMENT_NAMESPACE,
    is_permanent,
    make_client,
    push_document,
    stripe_message,
)
from billing_assets.secrets import SecretError
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, registered, transaction
from billing_assets.warehouse.resource import WarehouseResource

COMMON = {"group_name": "revenue", "owners": ["team:billing"]}
NOT_CONFIGURED = "Stripe not configured (STRIPE_API_KEY unset): nothing was pushed or pulled"
STRIPE_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)

PAYMENT_COLUMNS = {"payment_id": pl.String, "invoice_id": pl.String, "tenant_id": pl.String,
                   "stripe_invoice_id": pl.String, "amount_minor": pl.Int64, "currency": pl.String,
                   "paid_at": pl.Datetime("us"), "recorded_at": pl.Datetime("us")}


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
    """Every issued document not yet in Stripe is pushed once (customer per tenant, one item per line,
    finalized), its Stripe ids recorded; credit notes become Stripe credit notes."""
    if not stripe.configured:
        context.log.info(NOT_CONFIGURED)
        return dg.MaterializeResult(metadata={"stripe": NOT_CONFIGURED, "pushed": 0,
                                              **_table_metadata(warehouse, "revenue.stripe_documents")})
    with warehouse.connect() as conn:
        pending = [r for r in conn.execute(
            "SELECT i.invoice_id, i.document_type, i.corrects_invoice_id, t.billing_email FROM revenue.tenant_invoices i "
            "JOIN staging.tenants t USING (tenant_id) LEFT JOIN revenue.stripe_documents s USING (invoice_id) "
            "WHERE i.status IN ('issued', 'paid') AND s.invoice_id IS NULL AND i.total_minor <> 0 "
            "ORDER BY i.period_start, i.tenant_id, i.correction_seq").fetchall()]
        stored = store.stored_documents(conn, [r[0] for r in pending])
        docs = [(stored[i], t, c, e) for i, t, c, e in pending]
        originals = dict(conn.execute("SELECT invoice_id, stripe_object_id FROM revenue.stripe_documents").fetchall())
    pushed = []
    with stripe_errors(stripe.api_key):
        client = make_client(stripe.api_key, stripe.api_base, stripe.timeout_s, stripe.max_network_retries)
    for doc, _, corrects, email in docs:  # network first; each success is recorded at once, below
        with stripe_errors(stripe.api_key):
            result = push_document(client, doc, email, originals.get(corrects))
        pushed.append((doc, result))
        originals[doc.invoice_id] = result.stripe_object_id
        with warehouse.connect() as conn, transaction(conn):
            conn.execute("INSERT INTO revenue.stripe_documents VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         [doc.invoice_id, doc.tenant.tenant_id, result.stripe_customer_id, result.stripe_object_id,
                          result.object_type, doc.total, doc.currency, _now()])
    return dg.MaterializeResult(metadata={
        "pushed": len(pushed), **_table_metadata(warehouse, "revenue.stripe_documents"),
        "pushed_documents": dg.MetadataValue.md(md_bullets([f"{d.invoice_number} → {p.stripe_object_id}"
                                                            for d, p in pushed]))})


@dg.asset(**COMMON, kinds={"stripe", "duckdb"}, pool=DUCKDB_POOL, retry_policy=STRIPE_RETRY,
          deps=[stripe_invoices],
          check_specs=[dg.AssetCheckSpec("no_payment_drift", asset="stripe_payments",
                                         description="Issued invoices without a Stripe counterpart, payments without "
                                                     "an invoice, amount mismatches: each listed.")])
def stripe_payments(context: dg.AssetExecutionContext, stripe: StripeResource, warehouse: WarehouseResource):
    """Invoice and payment status pulled from Stripe (paid, open, uncollectible, void); a payment is
    recorded once when an invoice is first seen paid, and the invoice's status follows."""
    if not stripe.configured:
        context.log.info(NOT_CONFIGURED)
        yield dg.MaterializeResult(metadata={"stripe": NOT_CONFIGURED,
                                             **_table_metadata(warehouse, "revenue.stripe_invoice_status")})
        yield dg.AssetCheckResult(check_name="no_payment_drift", passed=True, metadata={"stripe": NOT_CONFIGURED})
        return
    with warehouse.connect() as conn:
        pushed = conn.execute("SELECT s.invoice_id, s.stripe_object_id, s.tenant_id, s.currency FROM "
                              "revenue.stripe_documents s WHERE s.object_type = 'invoice' ORDER BY 1").fetchall()
    with stripe_errors(stripe.api_key):
        client = make_client(stripe.api_key, stripe.api_base, stripe.timeout_s, stripe.max_network_retries)
        fetched = [(row, client.v1.invoices.retrieve(row[1])) for row in pushed]
    now = _now()
    with warehouse.connect() as conn:
        with transaction(conn):
            conn.execute("DELETE FROM revenue.stripe_invoice_status")
            insert_rows(conn, "revenue.stripe_invoice_status", [
                [stripe_id, invoice_id, inv.status, inv.amount_due, inv.amount_paid, inv.amount_remaining, now]
                for (invoice_id, stripe_id, _, _), inv in fetched])
            paid = pl.DataFrame([
                [str(uuid.uuid5(PAYMENT_NAMESPACE, f"payment/{stripe_id}")), invoice_id, tenant_id, stripe_id,
                 inv.amount_paid, currency,
                 datetime.fromtimestamp(inv.status_transitions.paid_at or 0, UTC).replace(tzinfo=None), now]
                for (invoice_id, stripe_id, tenant_id, currency), inv in fetched if inv.status == "paid"],
                schema=PAYMENT_COLUMNS, orient="row")
            with registered(conn, "collected", paid):  # a payment already recorded keeps its first record
                conn.execute("INSERT OR IGNORE INTO revenue.payments SELECT * FROM collected")
            store.mark_paid(conn, [r[0] for r in conn.execute(
                "SELECT DISTINCT p.invoice_id FROM revenue.payments p ANTI JOIN revenue.payment_reversals r "
                "USING (payment_id) ORDER BY 1").fetchall()])
            store.void_documents(conn, [r[0] for r in conn.execute(
                "SELECT invoice_id FROM revenue.stripe_invoice_status WHERE status = 'void' ORDER BY 1").fetchall()])
        drift = conn.execute(read_sql("payments/check_payment_drift.sql")).fetchall()
        statuses = dict(conn.execute("SELECT status, count(*) FROM revenue.stripe_invoice_status GROUP BY 1").fetchall())
        payments = conn.execute("SELECT count(*) FROM revenue.payments").fetchone()[0]
    yield dg.MaterializeResult(metadata={"payments": payments, "stripe_statuses": dg.MetadataValue.json(statuses),
                                         **_table_metadata(warehouse, "revenue.stripe_invoice_status")})
    yield dg.AssetCheckResult(check_name="no_payment_drift", passed=not drift, severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"findings": len(drift), "details": dg.MetadataValue.md(md_bullets([f"{k}: {s} ({a})" for k, s, a in drift]))})


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
                                  description="Push issued documents to Stripe, pull payments, rebuild the journal.")
