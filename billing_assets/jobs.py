"""Jobs that span areas. Area-specific jobs live with their area."""

import dagster as dg

# Every asset, for one month or a range: the unpartitioned snapshots refresh first, then the
# monthly assets in dependency order; blocking checks stop whatever depends on what they guard.
month_close = dg.define_asset_job(
    "month_close",
    selection=dg.AssetSelection.all(),
    description="Close a month (or a range, as one run): snapshot, ingest, meter, rate, cost, margin.",
    tags={"dagster/max_retries": 1},
)
