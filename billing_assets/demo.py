"""The demo: the month close over every sample month, through Dagster and a persistent instance.

It runs exactly what an operator would launch from the UI, as runs of the code location the UI shows
(location_runs.py): the `month_close` job as one single-run backfill over the sample months, then
`issue_invoices` per month, then the month close again (which now leaves issued invoices untouched),
and finally a preview of the pilot invoice. The terminal gets one line per step or month and a
summary; Dagster's own event log goes to `demo.log` beside the warehouse.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import dagster as dg

from billing_assets.sample_world import WorldParams
from billing_assets.sample_world.world import PILOT_MONTH, PILOT_TENANT_SLUG
from billing_assets.settings import locations

DEMO_TAGS = {"billing/launched_by": "demo"}
AGING_AHEAD_DAYS = 45  # the demo's documents are issued today: age them as of a day when some are overdue


def sample_months() -> tuple[str, str]:
    periods = WorldParams().periods
    return f"{periods[0].start:%Y-%m-%d}", f"{periods[-1].start:%Y-%m-%d}"


def replay_hour() -> datetime:
    """The middle of the last sample month: an estimate then has half the month to project."""
    month = WorldParams().periods[-1]
    return month.start + (month.end - month.start) / 2


def run_demo(started: float) -> int:
    from billing_assets.location_runs import LocationRuns

    where = locations()
    log_path = where.home / "demo.log"
    log_path.unlink(missing_ok=True)
    runs = LocationRuns(dg.DagsterInstance.get(), log_path)
    stopped = runs.stop_automation()
    print(f"Schedules and sensors stopped in this instance ({len(stopped)}): opening the UI launches nothing.")
    first, last = sample_months()
    range_tags = {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last,
                  **DEMO_TAGS}
    print(f"month_close {first[:7]}..{last[:7]}, one run (a single-run backfill of the range):", flush=True)
    if not _report(runs, runs.run("month_close", tags=range_tags), per_step=True):
        return _failed(log_path)
    print("issue_invoices, one run per month:", flush=True)
    for period in WorldParams().periods:
        config = {"ops": {"issue_month_drafts": {"config": {"period": period.label, "issued_by": "demo"}}}}
        run = runs.run("issue_invoices", run_config=config, tags=DEMO_TAGS)
        if not _report(runs, run, label=f"  {period.label}"):
            return _failed(log_path)
    print("month_close again (issued invoices stay as they are):", flush=True)
    if not _report(runs, runs.run("month_close", tags=range_tags), label="  month_close"):
        return _failed(log_path)
    aging_day = (datetime.now(UTC) + timedelta(days=AGING_AHEAD_DAYS)).date()
    print(f"collections_daily, receivables aged as of {aging_day} (in {AGING_AHEAD_DAYS} days, if nothing is paid):",
          flush=True)
    config = {"ops": {"receivables_aging": {"config": {"as_of": str(aging_day)}}}}
    if not _report(runs, runs.run("collections_daily", run_config=config, tags=DEMO_TAGS), label="  collections"):
        return _failed(log_path)
    replay = replay_hour()
    print(f"month_to_date_hourly, the last sample month replayed as of {replay:%Y-%m-%d %H:%M} UTC, then the "
          "running month now:", flush=True)
    for label, config in ((f"  {replay:%Y-%m}", {"as_of": f"{replay:%Y-%m-%dT%H:%M:%SZ}", "month": f"{replay:%Y-%m}"}),
                          ("  now    ", {})):
        run_config = {"ops": {"month_to_date_estimate": {"config": config}}}
        if not _report(runs, runs.run("month_to_date_hourly", run_config=run_config, tags=DEMO_TAGS), label=label):
            return _failed(log_path)
    previews = []
    print(f"preview_invoice for {PILOT_TENANT_SLUG}, one run per month (the same quote engine, nothing written):",
          flush=True)
    for period in WorldParams().periods:
        config = {"ops": {"preview_tenant_invoice": {"config": {"tenant": PILOT_TENANT_SLUG, "period": period.label}}}}
        run = runs.run("preview_invoice", run_config=config, tags=DEMO_TAGS)
        if not _report(runs, run, label=f"  {period.label}"):
            return _failed(log_path)
        meta = runs.output_metadata(run, "preview_tenant_invoice")
        previews.append((period.label, meta["subtotal_minor"].value, meta["tax_minor"].value, meta["total_minor"].value))
    _summary(where, previews, started, log_path, aging_day, replay)
    return 0


def _report(runs, run: dg.DagsterRun, per_step: bool = False, label: str = "") -> bool:
    """One line per step (per_step) or one line for the run; False when the run failed."""
    steps = runs.step_times(run)
    if per_step:
        for step in steps:
            print(f"  {step.step:<40} {step.status.lower():<8} {step.seconds:6.1f} s")
    ok = run.status == dg.DagsterRunStatus.SUCCESS
    counted = f"{len(steps)} step" + ("s" if len(steps) != 1 else "")
    outcome = f"ok, {counted} in {runs.wall_seconds(run):.1f} s" if ok else f"FAILED: {runs.failure(run)}"
    print(f"{label or '  '} {outcome} (run {run.run_id[:8]})", flush=True)
    return ok


def _failed(log_path) -> int:
    print(f"The demo stopped: the run above failed. Dagster's event log: {log_path}; the run is in the UI.")
    return 1


def _summary(where, previews, started: float, log_path, aging_day, replay: datetime) -> None:
    from tabulate import tabulate

    from billing_assets.money import format_money
    from billing_assets.revenue.invoicing.preview import preview_rows
    from billing_assets.sql_files import read_sql
    from billing_assets.warehouse import open_warehouse

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
        aging = conn.execute(
            "SELECT bucket, count(*), sum(open_usd_minor) * 0.01 FROM marts.receivables_aging WHERE as_of_date = ? "
            "GROUP BY 1 ORDER BY min(days_past_due)", [aging_day]).fetchall()
        dunning = conn.execute(
            "SELECT tenant_slug, suggestion, reason, open_usd_minor * 0.01 FROM marts.dunning_suggestions "
            "WHERE as_of_date = ? AND suggestion <> 'active' ORDER BY oldest_days_past_due DESC, tenant_slug LIMIT 5",
            [aging_day]).fetchall()
        estimates = [(slug, format_money(total, currency), f"{kind} {format_money(reference, currency)}" if kind else "",
                      f"{percent}%" if percent is not None else "", alerts, format_money(int(invoiced), currency) if invoiced is not None else "")
                     for slug, currency, total, kind, reference, percent, alerts, invoiced in conn.execute(
                         read_sql("estimates/demo_replay.sql"), {"month": f"{replay:%Y-%m-01}"}).fetchall()]
        running = conn.execute(
            "SELECT strftime(period_start, '%Y-%m'), as_of, tenants, projected_revenue_usd_minor * 0.01, "
            "do_month_to_date_usage_minor * 0.01, do_generated_at, projected_do_cost_usd_minor * 0.01, "
            "projected_margin_usd_minor * 0.01, "
            "(SELECT count(*) FROM revenue.budget_alerts a WHERE a.period_start = r.period_start) "
            "FROM revenue.estimate_runs r ORDER BY computed_at DESC LIMIT 1").fetchone()
    print()
    print(tabulate(invoices, headers=("month", "invoices", "corrections", "USD total (cents)")))
    print()
    print(f"preview_invoice for {PILOT_TENANT_SLUG}, every sample month (minor units):")
    print(tabulate(previews, headers=("month", "subtotal", "tax", "total")))
    print()
    print(f"Pilot invoice preview ({PILOT_TENANT_SLUG}, {PILOT_MONTH}):")
    print(tabulate(rows, headers=("kind", "description", "quantity", "amount"), disable_numparse=True))
    print()
    print(f"Receivables aging as of {aging_day} (USD; marts.receivables_aging):")
    print(tabulate(aging, headers=("bucket", "documents", "open"), floatfmt=",.2f"))
    print("Dunning suggestions (suggestions only; marts.dunning_suggestions):")
    print(tabulate(dunning, headers=("tenant", "suggestion", "reason", "open USD"), floatfmt=",.2f"))
    print()
    print(f"The running month replayed: {replay:%Y-%m} as known at {replay:%Y-%m-%d %H:%M} UTC, projected, beside "
          "the invoice the month close computed (marts.month_to_date_tenants, marts.budget_alerts):")
    print(tabulate(estimates, headers=("tenant", "projected total", "reference", "% of it", "alerts", "invoiced"),
                   disable_numparse=True))
    month, as_of, tenants, revenue, do_usage, do_at, do_cost, margin, alerts = running
    print(f"The running month now: {month} as of {as_of:%Y-%m-%d %H:%M} UTC, {tenants} tenants, {alerts} alert(s); "
          f"projected revenue USD {revenue:,.2f}; DigitalOcean so far "
          + (f"USD {do_usage:,.2f} (balance of {do_at:%Y-%m-%d %H:%M}), projected USD {do_cost:,.2f}; margin "
             + (f"USD {margin:,.2f}" if margin is not None else "unknown (a currency without a USD rate)")
             if do_usage is not None else "unknown (no balance fetched this month)")
          + " (marts.month_to_date_margin)")
    for direction, rows in ranked.items():
        print()
        print(f"{direction.title()} deployments by margin, {last_month[:7]} (USD):")
        print(tabulate(rows, headers=("tenant", "deployment", "revenue", "cost", "margin"), floatfmt=",.2f"))
    print()
    print("Stripe: not configured (set STRIPE_API_KEY): issued invoices were not pushed, collection not tracked."
          if not os.environ.get("STRIPE_API_KEY") else "Stripe: issued invoices pushed by stripe_invoices.")
    target = (os.environ.get("BILLING_FINANCE_TARGET") or "none").strip()
    print("Books: off (BILLING_FINANCE_TARGET=none): payables (DigitalOcean bills) and receivables (tenant "
          "documents) were not pushed; set finance-service or xero to push them."
          if target == "none" else f"Books: payables and receivables pushed to {target}.")
    print(f"Warehouse {where.warehouse_path}: {len(tables)} tables; analysts read the copy "
          f"{where.exports_dir / 'warehouse.duckdb'} (views in schema `marts`) and the exports in {where.exports_dir}")
    print(f"Done in {time.monotonic() - started:.0f}s.")
    print(f"Dagster's event log of every run above: {log_path}")
    print(f"  Open the UI:       DAGSTER_HOME={where.dagster_home} .venv/bin/dagster dev   (from the checkout)")
    analyst_copy = where.exports_dir / "warehouse.duckdb"
    print(f"  Query the marts:   .venv/bin/python -c \"import duckdb; print(duckdb.connect('{analyst_copy}', "  # noqa: S608
          "read_only=True).sql('SELECT * FROM marts.monthly_pnl'))\"   (more in README: For analysts)")
    print(f"  Preview invoices:  .venv/bin/billing-assets preview --tenant {PILOT_TENANT_SLUG} --period {PILOT_MONTH}")
    last = f"{WorldParams().periods[-1].start:%Y-%m}"
    print(f"  Dashboard:         {(where.exports_dir / 'dashboard' / 'index.html').as_uri()}   (opens offline)")
    print(f"  Close pack:        {where.exports_dir / 'close_pack' / f'close_pack_{last}.xlsx'}   (one per month)")
    print("  Saved queries:     .venv/bin/billing-assets query   (lists them; `query churned_revenue` runs one)")
