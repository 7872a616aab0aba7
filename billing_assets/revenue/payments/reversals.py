"""Usage and payment reversals: validated, ownership-checked, append-only audit rows.

A reversal never edits what it reverses. A usage reversal is excluded by the month's next metering
run (and an issued month gets a credit note); a payment reversal re-opens the receivable.
"""

import re
import uuid
from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import DUCKDB_POOL, ONE_OFF_JOB_TAGS, refuse
from billing_assets.ids import stable_id
from billing_assets.revenue.invoicing import store
from billing_assets.revenue.payments.lookup import resolve_tenant
from billing_assets.warehouse import transaction
from billing_assets.warehouse.resource import WarehouseResource

REVERSAL_NAMESPACE = uuid.UUID("c4a9e2f1-7b3d-4c58-a6e0-1f2d3b4c5e6a")


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


UUID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UsageReversalConfig(dg.Config):
    usage_event_id: str = Field(description="The usage event to reverse (UUID; `billing-assets find-usage "
                                            "--tenant <slug> --period YYYY-MM` lists them).")
    tenant: str = Field(description="Slug or id of the tenant the event must belong to.")
    reason: str = Field(description="Why, at least 3 characters (kept in the audit trail).")
    initiated_by_email: str = Field(description="Email of who asked for it (kept in the audit trail).")


class PaymentReversalConfig(dg.Config):
    payment_id: str = Field(description="The payment to reverse (UUID; `billing-assets find-payments "
                                        "--tenant <slug>` lists them).")
    tenant: str = Field(description="Slug or id of the tenant the payment must belong to.")
    reason: str = Field(description="Why, at least 3 characters (kept in the audit trail).")
    initiated_by_email: str = Field(description="Email of who asked for it (kept in the audit trail).")


def validate_reversal(fields: dict[str, str]) -> None:
    """Raise naming every bad field: ids must be UUIDs, the tenant given, the reason non-empty, the email an email."""
    problems = []
    for name, value in fields.items():
        if name == "tenant" and not value.strip():
            problems.append("tenant: give the tenant's slug or id")
        elif name.endswith("_id") and not UUID_RE.match(value.strip().lower()):
            problems.append(f"{name}: {value!r} is not a UUID")
        elif name == "reason" and len(value.strip()) < 3:
            problems.append("reason: must say why (at least 3 characters)")
        elif name == "initiated_by_email" and not EMAIL_RE.match(value.strip()):
            problems.append(f"initiated_by_email: {value!r} is not an email address")
    if problems:
        raise refuse("refused: " + "; ".join(problems))


def _tenant_id(conn, key: str) -> str:
    try:
        return resolve_tenant(conn, key)[0]
    except ValueError as exc:
        raise refuse(str(exc)) from None


@dg.op(pool=DUCKDB_POOL)
def record_usage_reversal(context: dg.OpExecutionContext, config: UsageReversalConfig, warehouse: WarehouseResource):
    """Appends the reversal (who, when, why, original amounts). The next materialization of the
    month excludes the event; if that month's invoice was issued, it gets a credit note."""
    validate_reversal(config.model_dump())
    with warehouse.connect() as conn, transaction(conn):
        tenant_id = _tenant_id(conn, config.tenant)
        event = conn.execute(
            "SELECT e.idempotency_key, e.deployment_id, d.tenant_id, e.metric, e.quantity, e.occurred_at "
            "FROM staging.usage_events e LEFT JOIN staging.deployments d USING (deployment_id) WHERE e.event_id = ?",
            [config.usage_event_id.lower()]).fetchone()
        if event is None:
            raise refuse(f"usage_event_id: no usage event {config.usage_event_id} in the warehouse's snapshot")
        key, deployment, owner, metric, quantity, occurred = event
        if owner != tenant_id:
            raise refuse(f"tenant: usage event {config.usage_event_id} does not belong to tenant {config.tenant}")
        if conn.execute("SELECT 1 FROM revenue.usage_event_reversals WHERE idempotency_key = ?", [key]).fetchone():
            raise refuse(f"usage_event_id: {config.usage_event_id} is already reversed")
        reversal_id = stable_id(REVERSAL_NAMESPACE, f"usage/{key}")
        conn.execute("INSERT INTO revenue.usage_event_reversals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                     [reversal_id, config.usage_event_id.lower(), key, owner, deployment, metric, quantity, occurred,
                      config.reason.strip(), config.initiated_by_email.strip(), _now()])
    context.log.info(f"reversed usage event {config.usage_event_id} ({quantity} {metric}, {occurred:%Y-%m}); "
                     f"re-materialize month {occurred:%Y-%m} to apply it")
    context.add_output_metadata({"reversal_id": reversal_id, "month_to_rerun": f"{occurred:%Y-%m}"})


@dg.op(pool=DUCKDB_POOL)
def record_payment_reversal(context: dg.OpExecutionContext, config: PaymentReversalConfig,
                            warehouse: WarehouseResource):
    """Marks the payment reversed (append-only) and re-opens the receivable: the invoice goes back to issued."""
    validate_reversal(config.model_dump())
    with warehouse.connect() as conn, transaction(conn):
        tenant_id = _tenant_id(conn, config.tenant)
        payment = conn.execute("SELECT tenant_id, amount_minor, currency, invoice_id FROM revenue.payments "
                               "WHERE payment_id = ?", [config.payment_id.lower()]).fetchone()
        if payment is None:
            raise refuse(f"payment_id: no payment {config.payment_id}")
        owner, amount, currency, invoice_id = payment
        if owner != tenant_id:
            raise refuse(f"tenant: payment {config.payment_id} does not belong to tenant {config.tenant}")
        if conn.execute("SELECT 1 FROM revenue.payment_reversals WHERE payment_id = ?", [config.payment_id.lower()]
                        ).fetchone():
            raise refuse(f"payment_id: {config.payment_id} is already reversed")
        reversal_id = stable_id(REVERSAL_NAMESPACE, f"payment-reversal/{config.payment_id.lower()}")
        conn.execute("INSERT INTO revenue.payment_reversals VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                     [reversal_id, config.payment_id.lower(), owner, amount, currency, config.reason.strip(),
                      config.initiated_by_email.strip(), _now()])
        store.reopen_after_payment_reversal(conn, invoice_id)
    context.add_output_metadata({"reversal_id": reversal_id, "reopened_invoice": invoice_id})


@dg.job(description="Reverse one usage event (audit trail kept); the month's next run excludes it.",
        tags={"kind": "revenue", **ONE_OFF_JOB_TAGS})
def reverse_usage_event():
    record_usage_reversal()


@dg.job(description="Reverse one payment (audit trail kept); its invoice's receivable re-opens.",
        tags={"kind": "revenue", **ONE_OFF_JOB_TAGS})
def reverse_payment():
    record_payment_reversal()
