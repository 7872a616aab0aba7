"""Everything the margin area contributes to the code location."""

import dagster as dg

from billing_assets.margin import assets

defs = dg.Definitions(assets=[assets.margin_marts, assets.reconciliation_report])
