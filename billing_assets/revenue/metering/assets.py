"""Metered usage per (tenant, deployment, metric, month): deduplicated events plus resource-hours."""


from datetime import datetime
from functools import partial

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import MONTHLY, md_table, month_window, monthly_results, table_schema
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import markdown_preview, run_sql, transaction
from billing_assets.warehouse.resource import WarehouseResource

CHECKS = {  # check name -> (finding, severity, description)
    "no_unknown_deployments_or_metrics": ("unknown_reference", dg.AssetCheckSeverity.WARN,
                                          "Events naming unknown deployments or metrics are listed, never dropped."),
    "no_negative_quantities": ("negative_quantity", dg.AssetCheckSeverity.ERROR,
                               "Negative quantities are refused (kept in revenue.usage_rejections)."),
    "active_deployments_have_usage": ("resources_without_usage", dg.AssetCheckSeverity.WARN,
                                      "A subscribed deployment running droplets but reporting no usage events."),
    "usage_only_while_active": ("usage_while_inactive", dg.AssetCheckSeverity.WARN,
                                "Usage for a deployment that did not exist during the period."),
    "resource_hours_billed_once": ("resource_hours_unaccounted", dg.AssetCheckSeverity.ERROR,
                                   "Every metered resource-hour is billed to one subscription or listed unbilled "
                                   "with its reason: none twice (overlapping subscriptions), none dropped."),
    "all_usage_billable": ("unbilled_usage", dg.AssetCheckSeverity.WARN,
                           "Usage outside every subscription's billable window (trial, before start, after "
                           "cancellation, no subscription) is not billed; listed per deployment and reason."),
}


# The month close runs at 03:00 UTC on the 1st: events received by then count for the month just ended.
LATE_USAGE_GRACE_HOURS = 3


class MeteringConfig(dg.Config):
    late_usage_grace_hours: int = Field(
        default=LATE_USAGE_GRACE_HOURS, ge=0, le=24 * 31,
        description="Events received later than this many hours after month end are late usage. "
                    "The default matches the month close at 03:00 UTC on the 1st.")


def check_findings(conn, start, end) -> dict[str, list[tuple]]:
    rows = conn.execute(read_sql("metering/check_usage.sql"),
                        {"window_start": start, "window_end": end}).fetchall()
    found: dict[str, list[tuple]] = {}
    for row in rows:
        found.setdefault(row[0], []).append(row[1:])
    return found



def month_metadata(conn, start: datetime, end: datetime) -> dict[str, object]:
    """One month's figures for its partition's page: rows, duplicates, late usage, what is billed."""
    params = {"window_start": start, "window_end": end}
    window = "period_start >= $window_start AND period_start < $window_end"
    rows, duplicates, late_quantity = conn.execute(
        f"SELECT count(*), coalesce(sum(duplicate_count), 0), coalesce(sum(late_quantity), 0) "  # noqa: S608
        f"FROM revenue.metered_usage WHERE {window}", params).fetchone()
    late_events = conn.execute(f"SELECT count(*) FROM revenue.late_usage WHERE {window}",  # noqa: S608
                               params).fetchone()[0]
    preview = markdown_preview(
        conn, "SELECT strftime(period_start, '%Y-%m') AS period, deployment_id, metric, quantity, late_quantity, "
              "duplicate_count FROM revenue.metered_usage WHERE period_start >= $window_start AND "
              "period_start < $window_end ORDER BY quantity DESC", params)
    billing = "billing_period_start >= $window_start AND billing_period_start < $window_end"
    billed, unbilled = conn.execute(
        f"SELECT (SELECT coalesce(sum(quantity), 0) FROM revenue.billable_usage WHERE {billing}), "  # noqa: S608
        f"(SELECT count(*) FROM revenue.unbilled_usage WHERE {billing})", params).fetchone()
    return {"dagster/row_count": rows, "duplicates_dropped": int(duplicates), "late_events": late_events,
            "late_quantity": int(late_quantity), "billable_quantity": int(billed), "unbilled_rows": int(unbilled),
            "preview": dg.MetadataValue.md(preview)}


@dg.asset(
    **MONTHLY,
    group_name="revenue",
    kinds={"sql", "duckdb"},
    owners=["team:billing"],
    deps=["source_usage_events", "source_cloud_resources", "source_deployments", "source_plan_catalogue",
          "source_subscriptions"],
    check_specs=[dg.AssetCheckSpec(name, asset="metered_usage", description=desc)
                 for name, (_, _, desc) in CHECKS.items()],
)
def metered_usage(context: dg.AssetExecutionContext, config: MeteringConfig, warehouse: WarehouseResource):
    """Usage per deployment, metric and month (revenue.metered_usage), and what each month's invoice bills
    (revenue.billable_usage: per subscription and plan phase) or never bills (revenue.unbilled_usage).

    Events are deduplicated by idempotency key across all months (first received wins) and reversed
    events are excluded; resource-hours come from cloud resource lifetimes. Usage counts only inside
    a subscription's billable window (after its trial, before its cancellation). An event received
    after its month's cut-off (month end + grace) is late: the month's invoice never changes for it;
    it is billed by the invoice of the period whose cut-off it beat (listed in revenue.late_usage), so
    a month's billable usage is a pure function of the events received before its cut-off.
    """
    start, end = month_window(context)
    params = {"window_start": start, "window_end": end, "grace_hours": config.late_usage_grace_hours}
    with warehouse.connect() as conn:
        with transaction(conn):
            run_sql(conn, "metering/metered_usage.sql", params)
            run_sql(conn, "metering/billable_usage.sql", params)
        findings = check_findings(conn, start, end)
        schema = table_schema(conn, "revenue.metered_usage")
        # Yielded with the connection open: each month's figures are read as its materialization is logged,
        # after the range's one result (the order decides which one a partition's page shows).
        yield from monthly_results(context, {"late_usage_grace_hours": config.late_usage_grace_hours,
                                             "dagster/column_schema": schema},
                                   partial(month_metadata, conn))
    for name, (finding, severity, _) in CHECKS.items():
        rows = findings.get(finding, [])
        yield dg.AssetCheckResult(
            check_name=name, passed=not rows, severity=severity,
            metadata={"findings": len(rows), "details": dg.MetadataValue.md(md_table(
                [(f"{p:%Y-%m}", d, m, detail) for p, d, m, detail in rows], ("period", "deployment", "metric", "detail")))
                if rows else "none"})
