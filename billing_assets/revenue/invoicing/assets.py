"""Tenant invoices (monthly), the credit ledger's inputs, the issue_invoices job and the preview_invoice job."""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import (
    DUCKDB_POOL,
    MONTHLY,
    ONE_OFF_JOB_TAGS,
    md_bullets,
    md_table,
    month_bounds,
    month_window,
    refuse,
    results_by_month,
    table_schema,
)
from billing_assets.memory import collector_paused
from billing_assets.partitions import BillingMonth
from billing_assets.periods import Period, months_in, parse_month
from billing_assets.revenue.invoicing import store
from billing_assets.revenue.invoicing.documents import PlanOutcome, plan_documents
from billing_assets.revenue.invoicing.inputs import load_tenant_inputs, quote_tenant, refused_tenants
from billing_assets.revenue.invoicing.preview import preview_rows
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, transaction
from billing_assets.warehouse.resource import WarehouseResource

CHECKS = {  # check name -> (findings, severity, description)
    "total_equals_subtotal_plus_tax": (("total_mismatch",), dg.AssetCheckSeverity.ERROR,
                                       "Every document's total is its subtotal plus tax."),
    "subtotal_equals_lines": (("subtotal_mismatch",), dg.AssetCheckSeverity.ERROR,
                              "Subtotal equals the sum of non-tax lines, tax the sum of tax lines."),
    "one_invoice_per_tenant_period": (("duplicate_invoice",), dg.AssetCheckSeverity.ERROR,
                                      "At most one invoice per tenant and period (corrections are separate)."),
    "active_subscriptions_invoiced": (("subscription_not_invoiced",), dg.AssetCheckSeverity.ERROR,
                                      "Every active subscription is invoiced or excluded with a stated reason."),
    "no_negative_totals": (("negative_total",), dg.AssetCheckSeverity.ERROR,
                           "Only a credit note may have a negative total."),
    "issued_invoices_unchanged": (("issued_invoice_changed",), dg.AssetCheckSeverity.ERROR,
                                  "Issued documents still hash to what was recorded when they were issued."),
}


class InvoiceRunConfig(dg.Config):
    exclude_tenants: list[str] = Field(default=[], description="Tenant ids (or slugs) not to invoice in this run.")
    only_segment: str | None = Field(default=None, description="Invoice only tenants of this segment.")
    force: bool = Field(default=False, description="Rewrite drafts even when unchanged. Never touches issued ones.")


def _refused_reason(refused: dict[str, str], tenant_id: str) -> str:
    return f"source rows refused (staging.source_rejections): {refused[tenant_id]}"


def _exclusion_reason(tenant, config: InvoiceRunConfig, refused: dict[str, str]) -> str | None:
    if tenant.tenant_id in refused:
        return _refused_reason(refused, tenant.tenant_id)
    if tenant.tenant_id in config.exclude_tenants or tenant.slug in config.exclude_tenants:
        return "excluded by run config exclude_tenants"
    if config.only_segment and tenant.segment != config.only_segment:
        return f"segment {tenant.segment!r} outside only_segment={config.only_segment!r}"
    return None


# Documents written at a time, all in the run's one transaction: holding a month's documents as objects
# until the end peaked above 2.5 GiB at 100,000 tenants.
WRITE_BATCH_DOCUMENTS = 5_000


def invoice_window(conn, window: Period, config: InvoiceRunConfig, now: datetime) -> list[tuple[str, str, str]]:
    """Compute and write every month of the window; returns (period, tenant, outcome) rows.

    Set-based: each month's inputs and existing documents are read in a handful of queries, every tenant
    is rated in Python, and the writes go in bulk statements of WRITE_BATCH_DOCUMENTS documents."""
    outcomes = []
    refused = refused_tenants(conn)
    for month in months_in(window):
        inputs = load_tenant_inputs(conn, month)
        unknown = set(config.exclude_tenants) - {t.tenant.tenant_id for t in inputs.values()} - {
            t.tenant.slug for t in inputs.values()}
        if unknown:
            raise refuse(f"exclude_tenants: unknown tenants: {', '.join(sorted(unknown))}")
        existing = store.existing_documents(conn, month)
        period_start = month.start.replace(tzinfo=None)
        conn.execute("DELETE FROM revenue.invoice_exclusions WHERE period_start = ?", [period_start])
        conn.execute("DELETE FROM revenue.credit_availability WHERE period_start = ?", [period_start])
        rated = set(inputs)
        replaced_drafts, documents, exclusions, credits = [], [], [], []
        for tenant_id in list(inputs):
            tenant_inputs = inputs.pop(tenant_id)  # let go once rated: a month of 100,000 tenants is large
            tenant = tenant_inputs.tenant
            reason = _exclusion_reason(tenant, config, refused)
            invoiced: set[str] = set()
            if reason is None:
                q = quote_tenant(tenant_inputs, month)
                invoiced = {line.subscription_id for line in q.lines}
                credits += credit_availability_rows(month, tenant.tenant_id, q)
                plan = plan_documents(tenant, q, existing.get(tenant.tenant_id, []), config.force)
                if plan.replaces_draft:
                    replaced_drafts.append(plan.replaces_draft)
                if plan.write:
                    documents.append(plan.write)
                outcome = plan.outcome
            else:
                outcome = PlanOutcome.EXCLUDED
            exclusions += [[period_start, tenant.tenant_id, item.subscription.subscription_id,
                            reason or "no billable time or usage in the period (e.g. a whole-period trial)"]
                           for item in tenant_inputs.subscriptions
                           if item.subscription.subscription_id not in invoiced]
            if tenant_inputs.subscriptions:
                outcomes.append((month.label, tenant.slug, outcome))
            if len(documents) >= WRITE_BATCH_DOCUMENTS:
                _write_documents(conn, replaced_drafts, documents, now)
        _write_documents(conn, replaced_drafts, documents, now)
        insert_rows(conn, "revenue.invoice_exclusions", exclusions)
        insert_rows(conn, "revenue.credit_availability", credits)
        for tenant_id in sorted(set(refused) - rated):  # the tenant's own row was refused
            conn.execute(
                "INSERT INTO revenue.invoice_exclusions SELECT ?, d.tenant_id, s.subscription_id, ? "
                "FROM staging.subscriptions s JOIN staging.deployments d USING (deployment_id) WHERE d.tenant_id = ? "
                "AND s.started_at < ? AND coalesce(s.canceled_at, ?) > ?",
                [period_start, _refused_reason(refused, tenant_id), tenant_id,
                 month.end.replace(tzinfo=None), month.end.replace(tzinfo=None), period_start])
            outcomes.append((month.label, tenant_id, PlanOutcome.EXCLUDED))
    return outcomes


def _write_documents(conn, replaced_drafts: list[str], documents: list, now: datetime) -> None:
    """Write (and forget) the documents planned so far, with the drafts they replace deleted first."""
    store.delete_drafts(conn, replaced_drafts)
    store.insert_documents(conn, documents, now)
    replaced_drafts.clear()
    documents.clear()


def credit_availability_rows(month: Period, tenant_id: str, q) -> list[list]:
    """What each credit could give this period, so the ledger can say what was granted and expired."""
    return [[month.start.replace(tzinfo=None), tenant_id, c.credit_grant_id, c.kind, c.deployment_id, c.available,
             c.expires_at.replace(tzinfo=None) if c.expires_at else None] for c in q.credits]


def invoice_findings(conn, start, end) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for finding, subject, detail in conn.execute(read_sql("invoicing/check_invoices.sql"),
                                                 {"window_start": start, "window_end": end}).fetchall():
        found.setdefault(finding, []).append((subject, detail))
    for subject, detail in store.changed_issued_documents(conn, start, end):
        found.setdefault("issued_invoice_changed", []).append((subject, detail))
    return found



def documents_metadata(conn, key: str, outcomes: list[tuple[str, str, str]]) -> dict[str, dict[str, object]]:
    """One month's documents for its partition's pages (tenant_invoices and tenant_invoice_lines)."""
    start, end = month_bounds(key)
    params = {"window_start": start, "window_end": end}
    documents, drafts, corrections = conn.execute(
        "SELECT count(*), count(*) FILTER (WHERE status = 'draft'), count(*) FILTER (WHERE document_type <> "
        "'invoice') FROM revenue.tenant_invoices WHERE period_start >= $window_start AND period_start < "
        "$window_end", params).fetchone()
    lines = conn.execute(
        "SELECT count(*) FROM revenue.tenant_invoice_lines l JOIN revenue.tenant_invoices i USING (invoice_id) "
        "WHERE i.period_start >= $window_start AND i.period_start < $window_end", params).fetchone()[0]
    summary: dict[str, int] = {}
    for _, _, outcome in outcomes:
        summary[outcome] = summary.get(outcome, 0) + 1
    return {"tenant_invoices": {
        "dagster/row_count": documents, "drafts": drafts, "corrections": corrections,
        "outcomes": dg.MetadataValue.json(summary),
        "tenants": dg.MetadataValue.md(md_table(outcomes, ("period", "tenant", "outcome"))),
        "preview": dg.MetadataValue.md(markdown_preview(conn, read_sql("invoicing/invoice_preview.sql"), params,
                                                        limit=30))},
        "tenant_invoice_lines": {"dagster/row_count": lines}}


@dg.multi_asset(
    specs=[
        dg.AssetSpec("tenant_invoices", group_name="revenue", kinds={"duckdb"}, owners=["team:billing"],
                     partitions_def=MONTHLY["partitions_def"],
                     deps=["metered_usage", "source_tenants", "source_subscriptions", "source_plan_catalogue"],
                     description="One invoice per tenant and month (plus credit notes / supplementary invoices "
                                 "that correct issued ones). Drafts are recomputed; issued documents never change."),
        dg.AssetSpec("tenant_invoice_lines", group_name="revenue", kinds={"duckdb"}, owners=["team:billing"],
                     partitions_def=MONTHLY["partitions_def"], deps=["metered_usage"],
                     description="Rated lines of every document, tagged with deployment, metric and plan version."),
    ],
    check_specs=[dg.AssetCheckSpec(name, asset="tenant_invoices", description=desc, blocking=True)
                 for name, (_, _, desc) in CHECKS.items()],
    **MONTHLY,
)
def tenant_invoices(context: dg.AssetExecutionContext, config: InvoiceRunConfig, warehouse: WarehouseResource):
    """Rate every tenant's usage with the quote engine and write the month's documents."""
    start, end = month_window(context)
    window = Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    now = datetime.now(UTC)
    with warehouse.connect() as conn:
        with transaction(conn), collector_paused():
            outcomes = invoice_window(conn, window, config, now)
        findings = invoice_findings(conn, start, end)
        refused = refused_tenants(conn)
        if refused:
            context.log.warning(f"not invoiced, source rows refused: {', '.join(sorted(refused))} "
                                "(staging.source_rejections; fix the source and re-run the month)")
        common = {
            "tenant_invoices": {"not_invoiced_source_rows_refused": dg.MetadataValue.md(md_bullets(
                [f"{tenant}: {why}" for tenant, why in refused.items()])),
                "dagster/column_schema": table_schema(conn, "revenue.tenant_invoices")},
            "tenant_invoice_lines": {"dagster/column_schema": table_schema(conn, "revenue.tenant_invoice_lines")}}
        by_month = {key: documents_metadata(conn, key, [o for o in outcomes if f"{o[0]}-01" == key])
                    for key in context.partition_keys}
    yield from results_by_month(context, common, by_month)
    for name, (kinds, severity, _) in CHECKS.items():
        rows = [row for kind in kinds for row in findings.get(kind, [])]
        yield dg.AssetCheckResult(
            asset_key="tenant_invoices", check_name=name, passed=not rows, severity=severity,
            metadata={"findings": len(rows),
                      "details": dg.MetadataValue.md(md_table(rows, ("document", "detail"))) if rows else "none"})


# --- issue_invoices ----------------------------------------------------------------------------

class IssueConfig(dg.Config):
    period: BillingMonth = Field(description="Month to issue, YYYY-MM. Every draft of that month becomes issued.")
    issued_by: str = Field(default="dagster", description="Who issues (recorded in revenue.invoice_issue_log).")


@dg.op(pool=DUCKDB_POOL)
def issue_month_drafts(context: dg.OpExecutionContext, config: IssueConfig, warehouse: WarehouseResource) -> None:
    """Drafts of the month become issued; from now on only correction documents can change what is billed."""
    month = parse_month(config.period.value)
    now = datetime.now(UTC)
    if month.end > now:
        raise refuse(f"period: {month.label} has not ended (it ends {month.end:%Y-%m-%d %H:%M} UTC); "
                     "a month is issued after it closes")
    if not config.issued_by.strip():
        raise refuse("issued_by: say who issues (it is recorded with every issued document)")
    start, end = month.start.replace(tzinfo=None), month.end.replace(tzinfo=None)
    with warehouse.connect() as conn, transaction(conn):
        if not store.documents_in(conn, start, end):
            raise refuse(f"period: no invoices for {month.label}; materialize tenant_invoices for it first")
        issued = store.issue_drafts(conn, start, end, config.issued_by.strip(), now)
    context.add_output_metadata({"issued": len(issued), "period": month.label})
    context.log.info(f"issued {len(issued)} document(s) for {month.label}")


@dg.job(description="Issue every draft invoice (and correction) of one month. Issued documents are immutable.",
        tags={"kind": "revenue", **ONE_OFF_JOB_TAGS})
def issue_invoices():
    issue_month_drafts()


# --- preview_invoice ---------------------------------------------------------------------------

class PreviewConfig(dg.Config):
    tenant: str = Field(description="Tenant slug or id.")
    period: BillingMonth = Field(description="Month, YYYY-MM (its metered usage must be materialized).")


@dg.op(pool=DUCKDB_POOL)
def preview_tenant_invoice(context: dg.OpExecutionContext, config: PreviewConfig, warehouse: WarehouseResource):
    """The same quote engine as the invoices, nothing written."""
    with warehouse.connect(read_only=True) as conn:
        try:
            q, rows = preview_rows(conn, config.tenant, config.period.value)
        except ValueError as exc:
            raise refuse(str(exc)) from None
    context.add_output_metadata({
        "lines": dg.MetadataValue.md(md_table(rows, ("kind", "description", "quantity", "amount"))),
        "subtotal_minor": q.subtotal, "tax_minor": q.tax, "total_minor": q.total, "currency": q.currency,
    })


@dg.job(description="Preview one tenant's invoice for one month: lines and totals in the run's metadata.",
        tags={"kind": "revenue", **ONE_OFF_JOB_TAGS})
def preview_invoice():
    preview_tenant_invoice()
