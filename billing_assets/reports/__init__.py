"""Reports for finance: analyst-ready exports, the offline dashboard and the monthly close pack.

Everything here reads the analysts' copy of the warehouse (exports/warehouse.duckdb, read-only),
never the pipeline's file, so a report never holds the single writer's lock.
"""
