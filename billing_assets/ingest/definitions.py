"""Everything the ingest area contributes to the code location."""

import dagster as dg

from billing_assets.ingest import assets, automation

defs = dg.Definitions(
    assets=[assets.do_balance_snapshots, assets.do_billing_history, assets.do_resources, assets.do_invoices,
            assets.do_cost_lines],
    jobs=[automation.do_balance_hourly, automation.do_ingest_daily, automation.do_invoice_refresh],
    schedules=[automation.do_balance_schedule, automation.do_ingest_schedule],
    sensors=[automation.do_invoice_sensor],
)
