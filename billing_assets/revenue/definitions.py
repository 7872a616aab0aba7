"""Everything the revenue area contributes to the code location."""

import dagster as dg

from billing_assets.revenue import credit_assets, invoice_assets, metering, snapshot

defs = dg.Definitions(
    assets=[snapshot.source_snapshot, snapshot.source_usage_events, metering.metered_usage,
            invoice_assets.tenant_invoices, credit_assets.credit_ledger],
    jobs=[invoice_assets.issue_invoices, invoice_assets.preview_invoice],
)
