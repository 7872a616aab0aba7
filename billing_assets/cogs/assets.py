"""Cost of goods: every DigitalOcean cost line matched to a resource and deployment (or explicitly
unallocated), cost per deployment that ties to the bill to the cent, and FOCUS rows for FinOps tools."""

from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Literal

import dagster as dg
from pydantic import Field

from billing_assets.assets_common import MONTHLY, md_bullets, month_window, monthly_results, table_schema
from billing_assets.cogs.matching import (
    SHARED_REASONS,
    Line,
    Match,
    Resource,
    UnallocatedReason,
    allocate,
    matcher,
)
from billing_assets.exports import EXPORT_BATCH_ROWS, write_exports
from billing_assets.ingest.resources import DigitalOceanResource
from billing_assets.memory import collector_paused
from billing_assets.money import format_money
from billing_assets.periods import Period, aware, months_in
from billing_assets.price_list import price_frame, region_frame
from billing_assets.sql_files import read_sql
from billing_assets.warehouse import insert_rows, markdown_preview, registered, transaction
from billing_assets.warehouse.resource import WarehouseResource

COMMON = {"group_name": "cogs", "owners": ["team:finops"]}
# Cost lines matched and written at a time: a month of 100,000 tenants has ~900,000 of them, and holding
# them all as objects made matching the month close's peak.
MATCH_BATCH_LINES = 100_000




class MatchingConfig(dg.Config):
    match_rate_warn_below: float = Field(
        default=0.9, ge=0, le=1,
        description="Warn when the share of resource cost lines (not tax or account-level) matched is below this.")


def match_rate(conn, start: datetime, end: datetime) -> float:
    """Share of resource cost lines (not tax or account-level) matched to a deployment, 1.0 if none."""
    lines, matched = conn.execute(
        "SELECT count(*), count(deployment_id) FROM cogs.cost_line_matches WHERE period_start >= ? "
        "AND period_start < ? AND coalesce(unallocated_reason, '') NOT IN (SELECT unnest(?))",
        [start, end, sorted(SHARED_REASONS)]).fetchone()
    return round(matched / lines, 4) if lines else 1.0


def matches_metadata(conn, start: datetime, end: datetime) -> dict[str, object]:
    """One month's match figures for its partition's page (the same rate the match_rate check uses)."""
    params = [start, end]
    methods = dict(conn.execute(
        "SELECT match_method, count(*) FROM cogs.cost_line_matches WHERE period_start >= ? AND period_start < ? "
        "GROUP BY 1 ORDER BY 1", params).fetchall())
    unmatched = conn.execute(
        "SELECT description, amount_minor, unallocated_reason FROM cogs.cost_line_matches "
        "WHERE period_start >= ? AND period_start < ? AND unallocated_reason IN (?, ?) ORDER BY 2 DESC",
        [*params, UnallocatedReason.UNKNOWN_RESOURCE, UnallocatedReason.AMBIGUOUS_NAME]).fetchall()
    return {"dagster/row_count": sum(methods.values()), "match_methods": dg.MetadataValue.json(methods),
            "match_rate": match_rate(conn, start, end),
            "unmatched_lines": dg.MetadataValue.md(md_bullets(
                [f"{d}: {format_money(a, 'USD')} ({why})" for d, a, why in unmatched]))}


def write_matches(conn, start: datetime, end: datetime, match: Callable[[Line], Match]) -> None:
    """The window's cost lines, read as one Arrow table, matched and written MATCH_BATCH_LINES at a time."""
    lines = conn.sql(
        "SELECT period_start, invoice_uuid, line_number, product, group_description, description, start_at, end_at, "
        "amount_minor, is_tax, resource_id, resource_uuid FROM ingest.do_cost_lines "
        "WHERE period_start >= $start AND period_start < $end ORDER BY period_start, invoice_uuid, line_number",
        params={"start": start, "end": end}).to_arrow_table()
    for batch in lines.to_batches(MATCH_BATCH_LINES):
        rows = []
        for r in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            m = match(Line(r[1], r[2], r[3], r[4], r[5], aware(r[6]), aware(r[7]), r[8], r[9], r[10], r[11]))
            rows.append([r[0], m.invoice_uuid, m.line_number, r[3], r[5], m.kind, r[8], m.method, m.resource_id,
                         m.deployment_id, m.tenant_id, m.unallocated_reason])
        insert_rows(conn, "cogs.cost_line_matches", rows)


@dg.asset(**COMMON, **MONTHLY, kinds={"duckdb"},
          deps=["do_cost_lines", "do_resources", "source_cloud_resources", "source_deployments"],
          check_specs=[
              dg.AssetCheckSpec("match_rate", asset="cost_line_matches",
                                description="Share of resource lines matched; unmatched lines listed."),
              dg.AssetCheckSpec("unknown_provider_resources", asset="cost_line_matches",
                                description="Resources DigitalOcean bills that no deployment owns, with their cost."),
          ])
def cost_line_matches(context: dg.AssetExecutionContext, config: MatchingConfig, warehouse: WarehouseResource):
    """Every cost line with its match method (resource_uuid, resource_id, kubernetes_node, name or none),
    resource, deployment and tenant, or the reason it is unallocated."""
    start, end = month_window(context)
    with warehouse.connect() as conn:
        with collector_paused():  # the resources and a batch of lines as objects
            resources = [Resource(r[0], r[1], r[2], r[3], r[4], r[5], r[6], aware(r[7]), aware(r[8])) for r in conn.execute(
                "SELECT r.resource_id, r.deployment_id, d.tenant_id, r.kind, r.name, r.provider_resource_id, "
                "r.provider_uuid, r.created_at, r.deleted_at FROM staging.cloud_resources r "
                "JOIN staging.deployments d USING (deployment_id) ORDER BY r.resource_id").fetchall()]
            node_clusters = dict(conn.execute("SELECT provider_resource_id, cluster_uuid FROM ingest.do_resources "
                                              "WHERE cluster_uuid IS NOT NULL AND provider_resource_id IS NOT NULL")
                                 .fetchall())
            with transaction(conn):
                conn.execute("DELETE FROM cogs.cost_line_matches WHERE period_start >= ? AND period_start < ?", [start, end])
                write_matches(conn, start, end, matcher(resources, node_clusters))
        unmatched = conn.execute(
            "SELECT strftime(period_start, '%Y-%m'), description, amount_minor, unallocated_reason "
            "FROM cogs.cost_line_matches WHERE period_start >= ? AND period_start < ? "
            "AND unallocated_reason IN (?, ?) ORDER BY 1, 3 DESC",
            [start, end, UnallocatedReason.UNKNOWN_RESOURCE, UnallocatedReason.AMBIGUOUS_NAME]).fetchall()
        rate = match_rate(conn, start, end)
        schema = table_schema(conn, "cogs.cost_line_matches")
        yield from monthly_results(context, {"dagster/column_schema": schema},
                                   partial(matches_metadata, conn))
    listed = [f"{p} {d}: {format_money(a, 'USD')} ({why})" for p, d, a, why in unmatched]
    yield dg.AssetCheckResult(
        check_name="match_rate", passed=rate >= config.match_rate_warn_below, severity=dg.AssetCheckSeverity.WARN,
        metadata={"match_rate": rate, "threshold": config.match_rate_warn_below,
                  "unmatched": dg.MetadataValue.md(md_bullets(listed))})
    unknown = [u for u in listed if u.endswith(f"({UnallocatedReason.UNKNOWN_RESOURCE})")]
    yield dg.AssetCheckResult(
        check_name="unknown_provider_resources", passed=not unknown, severity=dg.AssetCheckSeverity.WARN,
        metadata={"resources": len(unknown), "spend_owned_by_no_deployment": dg.MetadataValue.md(
            md_bullets(unknown)),
            "unknown_cost_minor": sum(a for _, _, a, why in unmatched if why == UnallocatedReason.UNKNOWN_RESOURCE)})


class AllocationConfig(dg.Config):
    shared_cost_allocation: Literal["none", "even", "proportional"] = Field(
        default="none",
        description="How account-level charges (Spaces) and provider tax are spread: not at all (they stay "
                    "unallocated), evenly across the month's active deployments, or in proportion to direct cost. "
                    "Unknown-resource spend is never allocated.")


def _weights(conn, month: Period, method: str, direct: list[tuple]) -> dict[tuple[str, str], int]:
    if method == "proportional":
        weights: dict[tuple[str, str], int] = {}
        for _, tenant, deployment, _, cost_type, _, amount, _ in direct:
            if cost_type == "direct" and amount > 0:
                weights[(tenant, deployment)] = weights.get((tenant, deployment), 0) + amount
        return weights
    return {(t, d): 1 for t, d in conn.execute(
        "SELECT tenant_id, deployment_id FROM staging.deployments WHERE created_at < ? "
        "AND coalesce(deleted_at, ?) > ? ORDER BY deployment_id",
        [month.end.replace(tzinfo=None), month.end.replace(tzinfo=None), month.start.replace(tzinfo=None)]).fetchall()}


def costs_metadata(conn, start: datetime, end: datetime) -> dict[str, object]:
    """One month's cost figures and its largest rows, for its partition's page."""
    params = {"window_start": start, "window_end": end}
    rows, total, unallocated = conn.execute(
        "SELECT count(*), coalesce(sum(amount_minor), 0), coalesce(sum(amount_minor) FILTER "
        "(WHERE cost_type = 'unallocated'), 0) FROM cogs.deployment_costs WHERE period_start >= $window_start "
        "AND period_start < $window_end", params).fetchone()
    return {"dagster/row_count": rows, "total_minor": int(total), "unallocated_minor": int(unallocated),
            "preview": dg.MetadataValue.md(markdown_preview(conn, read_sql("cogs/deployment_costs_preview.sql"),
                                                            params, limit=40))}


@dg.asset(**COMMON, **MONTHLY, kinds={"duckdb"}, deps=[cost_line_matches],
          check_specs=[dg.AssetCheckSpec("totals_tie_out", asset="deployment_costs", blocking=True,
                                         description="Deployment costs + unallocated = cost lines = the DigitalOcean "
                                                     "invoice total, per month, to the cent; each line in one bucket.")])
def deployment_costs(context: dg.AssetExecutionContext, config: AllocationConfig, warehouse: WarehouseResource):
    """Cost per (tenant, deployment, resource kind) and month, plus explicit `unallocated` rows
    (unmatched lines, account-level charges, provider tax) so every month ties to the bill."""
    start, end = month_window(context)
    params = {"window_start": start, "window_end": end}
    method = config.shared_cost_allocation
    with warehouse.connect() as conn:
        direct = conn.execute(read_sql("cogs/direct_costs.sql"), params).fetchall()
        rows = []
        for month in months_in(Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))):
            in_month = [r for r in direct if r[0] == month.start.replace(tzinfo=None)]
            for row in in_month:
                if method != "none" and row[4] == "unallocated" and row[5] in SHARED_REASONS:
                    weights = _weights(conn, month, method, in_month)
                    if weights:
                        for (tenant, deployment), share in sorted(allocate(row[6], {
                                k: v for k, v in weights.items()}).items()):
                            rows.append([row[0], tenant, deployment, row[3], "shared_allocation", row[5], share,
                                         row[7], "USD", method])
                        continue
                rows.append([*row, "USD", method])
        with transaction(conn):
            conn.execute("DELETE FROM cogs.deployment_costs WHERE period_start >= ? AND period_start < ?", [start, end])
            insert_rows(conn, "cogs.deployment_costs", rows)
        findings = conn.execute(read_sql("cogs/check_costs.sql"), params).fetchall()
        schema = table_schema(conn, "cogs.deployment_costs")
        yield from monthly_results(context, {"allocation": method, "dagster/column_schema": schema},
                                   partial(costs_metadata, conn))
    yield dg.AssetCheckResult(
        check_name="totals_tie_out", passed=not findings, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"findings": len(findings),
                  "details": dg.MetadataValue.md(md_bullets([f"{f[1]} {f[0]}: {f[2]}" for f in findings]))})


@dg.asset(**COMMON, **MONTHLY, kinds={"duckdb", "parquet"}, deps=[cost_line_matches],
          check_specs=[dg.AssetCheckSpec("billed_cost_equals_invoice", asset="focus_cost_rows",
                                         description="FOCUS: SUM(BilledCost) per InvoiceId equals the invoice total.")])
def focus_cost_rows(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    digitalocean: DigitalOceanResource):
    """The DigitalOcean bill as FOCUS 1.2 Cost and Usage rows priced from DigitalOcean's published
    price list (unit price x quantity = list cost), in the warehouse and as one Parquet file per
    month for FinOps tools; provider-specific columns carry the `x_` prefix."""
    start, end = month_window(context)
    params = {"window_start": start, "window_end": end}
    folder = Path(warehouse.exports_dir) / "focus"
    files = {}
    with warehouse.connect() as conn:
        with transaction(conn), registered(conn, "price_list", price_frame()), \
                registered(conn, "regions", region_frame()):
            conn.execute('DELETE FROM cogs.focus_cost_rows WHERE "BillingPeriodStart" >= ? AND "BillingPeriodStart" < ?',
                         [start, end])
            conn.execute(f"INSERT INTO cogs.focus_cost_rows BY NAME {read_sql('cogs/focus_cost_rows.sql')}",
                         {**params, "billing_account_name": digitalocean.team_name})
        for month in months_in(Period(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))):
            rows = conn.sql('SELECT * FROM cogs.focus_cost_rows WHERE "BillingPeriodStart" = ? '
                            'ORDER BY "x_InvoiceUuid", "x_LineNumber"', params=[month.start.replace(tzinfo=None)])
            files[month.start.replace(tzinfo=None)] = write_exports(
                rows.to_arrow_reader(EXPORT_BATCH_ROWS), folder, f"focus_cost_rows_{month.label}", csv=False
            )[0] if rows.count("*").fetchall()[0][0] else []
        mismatches = conn.execute(read_sql("cogs/check_focus.sql"), params).fetchall()
        schema = table_schema(conn, "cogs.focus_cost_rows")

        def month_metadata(month_start: datetime, month_end: datetime) -> dict[str, object]:
            rows = conn.execute('SELECT count(*) FROM cogs.focus_cost_rows WHERE "BillingPeriodStart" >= ? '
                                'AND "BillingPeriodStart" < ?', [month_start, month_end]).fetchone()[0]
            return {"dagster/row_count": rows,
                    "parquet_files": dg.MetadataValue.json([str(f) for f in files[month_start]])}

        yield from monthly_results(context, {"focus_version": "1.2", "dagster/column_schema": schema}, month_metadata)
    yield dg.AssetCheckResult(
        check_name="billed_cost_equals_invoice", passed=not mismatches, severity=dg.AssetCheckSeverity.ERROR,
        metadata={"details": dg.MetadataValue.md(md_bullets([f"InvoiceId {i}: BilledCost {b} vs invoice {a}"
                                                             for i, b, a in mismatches]))})
