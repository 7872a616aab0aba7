"""The operational database as a Dagster resource."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from billing_assets.settings import locations


class SourceDatabaseResource(dg.ConfigurableResource):
    """The platform's operational database (any SQLAlchemy URL; SQLite and PostgreSQL read columnar)."""

    url: str = Field(description="SQLAlchemy URL of the source (BILLING_SOURCE_URL).")
    batch_rows: int = Field(default=250_000, description="Rows per Arrow batch for large tables.")
    usage_events_parquet: str | None = Field(
        default=None, description="BILLING_USAGE_EVENTS_PARQUET: a Parquet file or glob (the metering pipeline's "
                                  "raw drop) to read usage events from instead of the usage_events table.")


def source_from_environment() -> SourceDatabaseResource:
    """BILLING_SOURCE_URL may carry a password, so it is passed as an EnvVar (its value never shows)."""
    url = dg.EnvVar("BILLING_SOURCE_URL") if os.environ.get("BILLING_SOURCE_URL") else locations().source_url
    return SourceDatabaseResource(url=url, usage_events_parquet=os.environ.get("BILLING_USAGE_EVENTS_PARQUET") or None)
