"""The one monthly partitions definition every monthly asset shares.

UTC, starting on the 1st, end_offset=0: only closed months exist as partitions, so nothing can
invoice a month that is still running.
"""

import dagster as dg

FIRST_MONTH = "2024-01-01"

monthly_partitions = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH, timezone="UTC", end_offset=0)
