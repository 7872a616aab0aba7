"""The demo: the month close over every sample month, through Dagster and a persistent instance.

It runs exactly what an operator would launch from the UI: the `month_close` job as one
single-run backfill over the sample months, then `issue_invoices` per month, then the month close
again (which now leaves issued invoices untouched), and finally a preview of the pilot invoice.
"""

from __future__ import annotations

import os
import time

import dagster as dg

from billing_assets.sample_world import WorldParams
from billing_assets.sample_world.world import PILOT_MONTH, PILOT_TENANT_SLUG
from billing_assets.settings import locations


def sample_months() -> tuple[str, str]:
    periods = WorldParams().periods
    return f"{periods[0].start:%Y-%m-%d}", f"{periods[-1].start:%Y-%m-%d}"


def run_demo(started: float) -> int:
    from tabulate import tabulate

    from billing_assets.definitions import defs
    from billing_assets.revenue.invoicing.preview import preview_rows
    from billing_assets.sql_files import read_sql
    from billing_assets.warehouse import open_warehouse

    first, last = sample_months()
    instance = dg.DagsterInstance.get()
    month_close = defs.resolve_job_def("month_close")
    range_tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    print(f"month_close over {first[:7]} .. {last[:7]} (one single-run backfill) ...", flush=True)
    result = month_close.execute_in_process(instance=instance, tags=range_tags, raise_on_error=False)
    if not result.success:
        print("month_close failed; see the run in the Dagster UI", flush=True)
        return 1
    issue = defs.resolve_job_def("issue_invoices")
    for period in WorldParams().periods:
        config = {"ops": {"issue_month_drafts": {"config": {"period": period.label, "issued_by": "demo"}}}}
        if not issue.execute_in_process(run_config=config, instance=instance, raise_on_error=False).success:
            print(f"issue_invoices failed for {period.label}")
            return 1
    preview = defs.resolve_job_def("preview_invoice")
    previews = []
    for period in WorldParams().periods:  # the same quote engine, nothing written
        config = {"ops": {"preview_tenant_invoice": {"config": {"tenant": PILOT_TENANT_SLUG, "period": period.label}}}}
        run = preview.execute_in_process(run_config=config, instance=instance, raise_on_error=False)
        if not run.success:
            print(f"preview_invoice failed for {period.label}")
            return 1
        meta = next(e for e in run.all_events if e.is_successful_output).event_specific_data.metadata
        previews.append((period.label, meta["subtotal_minor"].value, meta["tax_minor"].value, meta["total_minor"].value))
    print("issued every sample month's invoices; running month_close again (issued invoices stay as they are) ...")
    again = month_close.execute_in_process(instance=instance, tags=range_tags, raise_on_error=False)
    if not again.success:
        return 1
    where = locations()
    with open_warehouse(where.warehouse_path, read_only=True) as conn:
        q, rows = preview_rows(conn, PILOT_TENANT_SLUG, PILOT_MONTH)
        tables = conn.execute(
            "SELECT schema_name || '.' || table_name, estimated_size FROM duckdb_tables() "
            "ORDER BY 1").fetchall()
        last_month = f"{WorldParams().periods[-1].start:%Y-%m-%d}"
        ranked = {direction: conn.execute(read_sql("marts/top_bottom.sql"), {
            "window_start": last_month, "window_end": f"{WorldParams().periods[-1].end:%Y-%m-%d}",
            "direction": direction}).fetchall()[:5] for direction in ("top", "bottom")}
        invoices = conn.execute(
            "SELECT strftime(period_start, '%Y-%m') AS month, count(*) FILTER (WHERE document_type = 'invoice'), "
            "count(*) FILTER (WHERE document_type <> 'invoice'), sum(total_minor) FILTER (WHERE currency = 'USD') "
            "FROM revenue.tenant_invoices GROUP BY 1 ORDER BY 1").fetchall()
    print()
    print(tabulate(invoices, headers=("month", "invoices", "corrections", "USD total (cents)")))
    print()
    print(f"preview_invoice for {PILOT_TENANT_SLUG}, every sample month (minor units):")
    print(tabulate(previews, headers=("month", "subtotal", "tax", "total")))
    print()
    print(f"Pilot invoice preview ({PILOT_TENANT_SLUG}, {PILOT_MONTH}):")
    print(tabulate(rows, headers=("kind", "description", "quantity", "amount"), disable_numparse=True))
    for direction, rows in ranked.items():
        print()
        print(f"{direction.title()} deployments by margin, {last_month[:7]} (USD):")
        print(tabulate(rows, headers=("tenant", "deployment", "revenue", "cost", "margin"), floatfmt=",.2f"))
    print()
    print("Stripe: not configured (set STRIPE_API_KEY): issued invoices were not pushed, collection not tracked."
          if not os.environ.get("STRIPE_API_KEY") else "Stripe: issued invoices pushed by stripe_invoices.")
    print(f"Warehouse {where.warehouse_path}: {len(tables)} tables; analysts read the copy "
          f"{where.exports_dir / 'warehouse.duckdb'} (views in schema `marts`) and the exports in {where.exports_dir}")
    print(f"Done in {time.monotonic() - started:.0f}s.")
    print(f"  Open the UI:       DAGSTER_HOME={where.dagster_home} .venv/bin/dagster dev")
    analyst_copy = where.exports_dir / "warehouse.duckdb"
    print(f"  Query the marts:   .venv/bin/python -c \"import duckdb; print(duckdb.connect('{analyst_copy}', "  # noqa: S608
          "read_only=True).sql('SELECT * FROM marts.monthly_pnl'))\"   (more in README: For analysts)")
    print(f"  Preview invoices:  .venv/bin/billing-assets preview --tenant {PILOT_TENANT_SLUG} --period {PILOT_MONTH}")
    return 0
