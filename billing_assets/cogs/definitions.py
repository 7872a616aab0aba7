"""Everything the cost-of-goods area contributes to the code location."""

import dagster as dg

from billing_assets.cogs import assets

defs = dg.Definitions(assets=[assets.cost_line_matches, assets.deployment_costs, assets.focus_cost_rows])
