"""Receivables aging and dunning suggestions, daily: who owes what, how late, and what the policy
(dunning.py) suggests doing about it. Suggestions only: deployments are changed by people."""

from datetime import UTC, date, datetime

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import DUCKDB_POOL, md_table, table_schema
from billing_assets.revenue.invoicing.documents import PAYMENT_TERMS_DAYS
from billing_assets.revenue.payments.dunning import (
    DunningPolicy,
    TenantFacts,
    differs_from_deployments,
    suggest,
)
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, run_sql, transaction
from billing_assets.warehouse.resource import WarehouseResource

BUCKETS = ("current", "1-30", "31-60", "61-90", "90+")


class AgingConfig(dg.Config):
    as_of: str = Field(default="", description="The day to age receivables at (YYYY-MM-DD, UTC); empty: today.")
    past_due_after_days: int = Field(default=1, description="Days past due from which a tenant is past due.")
    suspend_after_days: int = Field(default=14, description="Days past due from which suspension is suggested.")
    churn_review_after_days: int = Field(default=28, description="Days past due from which a churn review is "
                                                                  "suggested.")


def as_of_day(text: str) -> date:
    if not text.strip():
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise dg.Failure(f"as_of: {text!r} is not a date (YYYY-MM-DD)", allow_retries=False) from None


@dg.asset(group_name="revenue", owners=["team:billing"], kinds={"duckdb"}, pool=DUCKDB_POOL,
          deps=["stripe_payments", "ledger_entries", "deployment_margin"],
          check_specs=[dg.AssetCheckSpec("suggestions_match_deployments", asset="receivables_aging",
                                         description="Tenants whose suggested dunning state differs from their "
                                                     "deployments' state in the source (WARN, each listed).")])
def receivables_aging(context: dg.AssetExecutionContext, config: AgingConfig, warehouse: WarehouseResource):
    """Every open document's days past due (due 14 days after issue) and bucket (current, 1-30, 31-60,
    61-90, 90+), per tenant in its currency and in USD; and one dunning suggestion per tenant with its
    reason (revenue.dunning_suggestions). A day's rows replace that day's."""
    try:
        policy = DunningPolicy(config.past_due_after_days, config.suspend_after_days, config.churn_review_after_days)
    except ValueError as exc:
        raise dg.Failure(str(exc), allow_retries=False) from None
    day = as_of_day(config.as_of)
    params = {"as_of": day, "terms_days": PAYMENT_TERMS_DAYS}
    with warehouse.connect() as conn:
        with transaction(conn):
            conn.execute("DELETE FROM revenue.receivables_aging WHERE as_of_date = ?", [day])
            conn.execute("DELETE FROM revenue.dunning_suggestions WHERE as_of_date = ?", [day])
            run_sql(conn, "marts/usd_minor.sql")
            conn.execute("INSERT INTO revenue.receivables_aging " + read_sql("collections/receivables_aging.sql"),
                         params)
            rows = []
            for tenant_id, _, days, usd, documents, failed, disputes, states in conn.execute(
                    read_sql("collections/dunning_inputs.sql"), {"as_of": day}).fetchall():
                suggestion, reason = suggest(policy, TenantFacts(days, usd, documents, failed, disputes))
                differs = differs_from_deployments(suggestion, set(filter(None, states.split(","))))
                rows.append([day, tenant_id, suggestion, reason, days, usd, documents, failed, disputes, states, differs])
            insert_rows(conn, "revenue.dunning_suggestions", rows)
        buckets = dict(conn.execute("SELECT bucket, sum(open_usd_minor) FROM revenue.receivables_aging "
                                    "WHERE as_of_date = ? GROUP BY 1", [day]).fetchall())
        suggested = dict(conn.execute("SELECT suggestion, count(*) FROM revenue.dunning_suggestions "
                                      "WHERE as_of_date = ? GROUP BY 1", [day]).fetchall())
        differing = conn.execute(
            "SELECT t.slug, s.suggestion, s.reason, s.differs_from_deployments FROM revenue.dunning_suggestions s "
            "JOIN staging.tenants t USING (tenant_id) WHERE s.as_of_date = ? AND s.differs_from_deployments "
            "IS NOT NULL ORDER BY 1", [day]).fetchall()
        count = conn.execute("SELECT count(*) FROM revenue.receivables_aging WHERE as_of_date = ?", [day]).fetchone()[0]
        preview = markdown_preview(conn, "SELECT tenant_slug, invoice_number, currency, open_minor, open_usd_minor, "
                                         "due_date, days_past_due, bucket FROM marts.receivables_aging WHERE "
                                         "as_of_date = $as_of ORDER BY days_past_due DESC", {"as_of": day}, limit=20)
        suggestions = markdown_preview(conn, "SELECT tenant_slug, suggestion, reason, deployment_states FROM "
                                             "marts.dunning_suggestions WHERE as_of_date = $as_of AND suggestion "
                                             "<> 'active'", {"as_of": day}, limit=20)
        schema = table_schema(conn, "revenue.receivables_aging")
    context.log.info(f"aging as of {day}: {count} open documents; suggestions {suggested}")
    yield dg.MaterializeResult(metadata={
        "as_of": str(day), "dagster/row_count": count, "dagster/column_schema": schema,
        "open_usd_minor_by_bucket": dg.MetadataValue.json({b: int(buckets.get(b) or 0) for b in BUCKETS}),
        "suggestions": dg.MetadataValue.json(suggested), "preview": dg.MetadataValue.md(preview),
        "dunning": dg.MetadataValue.md(suggestions)})
    yield dg.AssetCheckResult(
        check_name="suggestions_match_deployments", passed=not differing, severity=dg.AssetCheckSeverity.WARN,
        metadata={"tenants": len(differing), "details": dg.MetadataValue.md(
            md_table(differing, ("tenant", "suggestion", "reason", "deployments")) if differing else "none")})


collections_daily = dg.define_asset_job(
    "collections_daily", selection=["stripe_invoices", "stripe_payments", "ledger_entries", "receivables_aging"],
    description="Read what Stripe collected, then age receivables and suggest dunning steps (suggestions only).")
