"""The books group: each month's DigitalOcean invoice as a payable and its issued tenant documents as
receivables, pushed to the finance target (BILLING_FINANCE_TARGET) exactly once.

The documents are read, the warehouse is closed, then each document goes out; each success is recorded
at once in its own short transaction. A document whose payload hashes as recorded is skipped (logged,
not sent); one DigitalOcean restated, or a correction re-rated, hashes differently and is sent again,
which the target's idempotency turns into an update of the same row.
"""

from datetime import UTC, datetime

import dagster as dg

from billing_assets.assets_common import (
    DUCKDB_POOL,
    md_bullets,
    md_table,
    month_window,
    monthly_results,
    table_schema,
)
from billing_assets.books import store
from billing_assets.books.finance_service import FinanceServiceError
from billing_assets.books.payloads import payload_sha256, tax_split
from billing_assets.books.resources import FinanceResource
from billing_assets.books.targets import Outgoing, target_for
from billing_assets.partitions import monthly_partitions
from billing_assets.periods import naive
from billing_assets.secrets import redact
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import transaction
from billing_assets.warehouse.resource import WarehouseResource

COMMON = {"group_name": "books", "owners": ["team:finance"], "partitions_def": monthly_partitions,
          "backfill_policy": dg.BackfillPolicy.single_run(), "pool": DUCKDB_POOL}
BOOKS_RETRY = dg.RetryPolicy(max_retries=3, delay=10, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)


def push(context: dg.AssetExecutionContext, warehouse: WarehouseResource, finance: FinanceResource, kind: str,
         outgoing: list[Outgoing]) -> list[tuple[Outgoing, str, str]]:
    """Send what the target does not hold as it is now; (document, action, remote id or error) each."""
    target = target_for(finance)
    with warehouse.connect(read_only=True) as conn:
        held = store.pushed_hashes(conn, finance.target, kind)
    secrets = (finance.jwt_secret, finance.xero_client_secret)
    outcomes, failures, to_send = [], [], []

    def failed(doc: Outgoing, exc: FinanceServiceError) -> None:
        failures.append((doc, exc))
        outcomes.append((doc, "failed", redact(str(exc), *secrets)))

    for doc in outgoing:
        try:
            payload = target.payload(doc)
        except FinanceServiceError as exc:
            failed(doc, exc)
            continue
        digest = payload_sha256(payload)
        remote = held.get(doc.document_id)
        if remote and remote[1] == digest:
            record(warehouse, finance.target, kind, doc, remote[0], digest, "skipped")
            outcomes.append((doc, "skipped", remote[0]))
        else:
            to_send.append((doc, payload, digest))
    if to_send:
        try:
            target.prepare([doc for doc, _, _ in to_send])
        except FinanceServiceError as exc:
            raise dg.Failure(f"the books could not be prepared: {redact(str(exc), *secrets)}",
                             allow_retries=not exc.permanent) from None
    for doc, payload, digest in to_send:
        try:
            imported = target.send(doc, payload, digest)
        except FinanceServiceError as exc:
            failed(doc, exc)
            continue
        record(warehouse, finance.target, kind, doc, imported.remote_id, digest, imported.action)
        outcomes.append((doc, imported.action, imported.remote_id))
    for note in target.notes:
        context.log.warning(note)
    if failures:
        listed = "; ".join(f"{doc.label}: {redact(str(exc), *secrets)}" for doc, exc in failures[:10])
        context.log.error(f"{len(failures)} of {len(outgoing)} {kind}s did not reach the books: {listed}")
        raise dg.Failure(f"{len(failures)} {kind}(s) not in the books ({listed}); the others are recorded",
                         allow_retries=not all(exc.permanent for _, exc in failures),
                         metadata={"outcomes": dg.MetadataValue.md(_outcome_table(outcomes))})
    return outcomes


def record(warehouse: WarehouseResource, target: str, kind: str, doc: Outgoing, remote_id: str, digest: str,
           action: str) -> None:
    """The target holds `doc`: recorded at once, in its own transaction, so a later failure loses nothing."""
    with warehouse.connect() as conn, transaction(conn):
        store.record_push(conn, target, kind, doc.document_id, doc.period_start, remote_id, doc.currency,
                          doc.total_minor, doc.tax_minor, digest, action, naive(datetime.now(UTC)))


def _outcome_table(outcomes: list[tuple[Outgoing, str, str]]) -> str:
    return md_table([(doc.label, f"{doc.period_start:%Y-%m}", action, detail) for doc, action, detail in outcomes],
                    ("document", "month", "action", "remote id / error"))


def _results(context: dg.AssetExecutionContext, warehouse: WarehouseResource, finance: FinanceResource, kind: str,
             outgoing: list[Outgoing], check: str):
    start, end = month_window(context)
    with warehouse.connect(read_only=True) as conn:
        schema = table_schema(conn, "books.pushed_documents")
    if finance.target == "none":
        note = "books off: BILLING_FINANCE_TARGET=none (set finance-service or xero to push); nothing was pushed"
        context.log.info(note)
        yield from monthly_results(context, {"finance_target": "none", "books": note,
                                             "dagster/column_schema": schema}, lambda *_: {"dagster/row_count": 0})
        yield dg.AssetCheckResult(check_name=check, passed=True, metadata={"books": note})
        return
    if problem := finance.problem():
        raise dg.Failure(problem, allow_retries=False)
    outcomes = push(context, warehouse, finance, kind, outgoing)

    def month_metadata(month_start: datetime, _end: datetime) -> dict[str, object]:
        mine = [o for o in outcomes if o[0].period_start == month_start]
        counts = {a: sum(1 for o in mine if o[1] == a) for a in ("created", "updated", "skipped")}
        return {"dagster/row_count": len(mine), **counts, "documents": dg.MetadataValue.md(_outcome_table(mine))}

    with warehouse.connect(read_only=True) as conn:
        missing = conn.execute(read_sql("books/check_in_books.sql"), {
            "window_start": start, "window_end": end, "target": finance.target, "document_kind": kind}).fetchall()
    yield from monthly_results(context, {"finance_target": finance.target, "dagster/column_schema": schema},
                               month_metadata)
    yield dg.AssetCheckResult(check_name=check, passed=not missing, metadata={
        "findings": len(missing), "details": dg.MetadataValue.md(md_bullets(
            [f"{d}: ours {t} / tax {x}, books {bt} / tax {bx}" for _, d, t, x, bt, bx in missing]))})


@dg.asset(**COMMON, kinds={"duckdb"}, retry_policy=BOOKS_RETRY, deps=["do_cost_lines", "cost_line_matches"],
          check_specs=[dg.AssetCheckSpec("payables_in_books_once", asset="books_payables",
                                         description="Every issued DigitalOcean invoice of the month is in the books "
                                                     "once, with its gross and tax to the cent.")])
def books_payables(context: dg.AssetExecutionContext, warehouse: WarehouseResource, finance: FinanceResource):
    """Each month's DigitalOcean invoice as a payable (vendor DigitalOcean, category cloud; GST as input
    tax; every line with the deployment it paid for)."""
    start, end = month_window(context)
    with warehouse.connect(read_only=True) as conn:
        bills = store.payables(conn, start, end)
    outgoing = []
    for bill in bills:
        gross, _, tax = tax_split(bill.lines)
        outgoing.append(Outgoing(bill.invoice_uuid, f"DigitalOcean {bill.invoice_id or bill.invoice_uuid}", bill,
                                 gross, tax))
    yield from _results(context, warehouse, finance, "payable", outgoing, "payables_in_books_once")


@dg.asset(**COMMON, kinds={"duckdb"}, retry_policy=BOOKS_RETRY, deps=["tenant_invoices"],
          check_specs=[dg.AssetCheckSpec("receivables_in_books_once", asset="books_receivables",
                                         description="Every issued tenant document of the month is in the books "
                                                     "once, with its total and tax to the cent.")])
def books_receivables(context: dg.AssetExecutionContext, warehouse: WarehouseResource, finance: FinanceResource):
    """Each month's issued tenant invoices, credit notes and supplementary invoices as receivables
    (GST as output tax), with their customer and lines."""
    start, end = month_window(context)
    with warehouse.connect(read_only=True) as conn:
        documents = store.receivables(conn, start, end)
    outgoing = [Outgoing(doc.invoice_id, doc.invoice_number, doc, doc.total_minor, doc.tax_minor)
                for doc in documents]
    yield from _results(context, warehouse, finance, "receivable", outgoing, "receivables_in_books_once")
