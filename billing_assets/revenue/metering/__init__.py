"""Metered usage: deduplicated usage events and resource-hours per deployment, metric and month."""
