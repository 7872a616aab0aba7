"""Typed resources, built once from the environment (see README "Configuration").

Locations have embedded defaults under BILLING_HOME; secrets (DigitalOcean token, Stripe key, a
source URL with a password) are only ever passed as `dg.EnvVar`, so Dagster shows the variable's
name, never its value.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
from pydantic import Field

from billing_assets.settings import locations

if TYPE_CHECKING:
    from billing_assets.ingest.documents import DocumentSource
from billing_assets.warehouse import open_warehouse

DEFAULT_DO_API_URL = "https://api.digitalocean.com"
DEFAULT_STRIPE_API_BASE = "https://api.stripe.com"


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB warehouse file. Open it briefly, after any network call, inside pool `duckdb`."""

    path: str = Field(description="DuckDB file of the warehouse (BILLING_WAREHOUSE_PATH).")
    exports_dir: str = Field(description="Folder of the Parquet/CSV exports for analysts and FinOps tools.")
    lock_timeout_s: float = Field(default=60.0, description="How long to wait for another writer.")

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        with open_warehouse(self.path, read_only=read_only, lock_timeout_s=self.lock_timeout_s) as conn:
            yield conn


class SourceDatabaseResource(dg.ConfigurableResource):
    """The platform's operational database (any SQLAlchemy URL; SQLite and PostgreSQL read columnar)."""

    url: str = Field(description="SQLAlchemy URL of the source (BILLING_SOURCE_URL).")
    batch_rows: int = Field(default=250_000, description="Rows per Arrow batch for large tables.")
    usage_events_parquet: str | None = Field(
        default=None, description="BILLING_USAGE_EVENTS_PARQUET: a Parquet file or glob (the metering pipeline's "
                                  "raw drop) to read usage events from instead of the usage_events table.")


class DigitalOceanResource(dg.ConfigurableResource):
    """Where DigitalOcean documents come from: the live API when a token is set, else an export folder."""

    token: str | None = Field(default=None, description="DIGITALOCEAN_TOKEN (billing:read scope).")
    api_url: str = Field(default=DEFAULT_DO_API_URL, description="DIGITALOCEAN_API_URL.")
    export_dir: str = Field(description="BILLING_DO_EXPORT_DIR, used when no token is set.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout.")
    max_retries: int = Field(default=5, description="Retries of 429/5xx/connection errors per request.")
    backoff_base_s: float = Field(default=1.0, description="First backoff step; doubles per retry, with jitter.")

    @property
    def mode(self) -> str:
        return "api" if self.token else "export_folder"

    def document_source(self) -> DocumentSource:
        """The API when a token is set, else the export folder: both return the same raw documents."""
        from billing_assets.ingest.client import DigitalOceanClient
        from billing_assets.ingest.documents import ApiSource, FolderSource

        if self.token:
            return ApiSource(DigitalOceanClient(self.token, self.api_url, timeout_s=self.timeout_s,
                                                max_retries=self.max_retries, backoff_base_s=self.backoff_base_s))
        return FolderSource(self.export_dir)


class StripeResource(dg.ConfigurableResource):
    """Stripe for issuing invoices and reading payments; off when no key is set (and runs say so)."""

    api_key: str | None = Field(default=None, description="STRIPE_API_KEY.")
    api_base: str = Field(default=DEFAULT_STRIPE_API_BASE, description="STRIPE_API_BASE.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout.")
    max_network_retries: int = Field(default=3, description="SDK retries of one request (same idempotency key).")

    @property
    def configured(self) -> bool:
        return bool(self.api_key)


def _secret(name: str) -> dg.EnvVar | None:
    return dg.EnvVar(name) if os.environ.get(name) else None


def build_resources() -> dict[str, dg.ConfigurableResource]:
    where = locations()
    source_url = dg.EnvVar("BILLING_SOURCE_URL") if os.environ.get("BILLING_SOURCE_URL") else where.source_url
    return {
        "warehouse": WarehouseResource(path=str(where.warehouse_path), exports_dir=str(where.exports_dir)),
        "source_db": SourceDatabaseResource(url=source_url,
                                            usage_events_parquet=os.environ.get("BILLING_USAGE_EVENTS_PARQUET") or None),
        "digitalocean": DigitalOceanResource(
            token=_secret("DIGITALOCEAN_TOKEN"),
            api_url=os.environ.get("DIGITALOCEAN_API_URL") or DEFAULT_DO_API_URL,
            export_dir=str(where.do_export_dir),
        ),
        "stripe": StripeResource(
            api_key=_secret("STRIPE_API_KEY"),
            api_base=os.environ.get("STRIPE_API_BASE") or DEFAULT_STRIPE_API_BASE,
        ),
    }
