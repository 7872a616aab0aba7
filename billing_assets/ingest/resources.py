"""Where DigitalOcean documents come from, as a Dagster resource."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from billing_assets.ingest.client import DigitalOceanClient
from billing_assets.ingest.documents import ApiSource, DocumentSource, FolderSource
from billing_assets.settings import locations, secret_env

DEFAULT_DO_API_URL = "https://api.digitalocean.com"
DEFAULT_TEAM_NAME = "DigitalOcean team"


class DigitalOceanResource(dg.ConfigurableResource):
    """Where DigitalOcean documents come from: the live API when a token is set, else an export folder."""

    token: str | None = Field(default=None, description="DIGITALOCEAN_TOKEN (billing:read scope).")
    api_url: str = Field(default=DEFAULT_DO_API_URL, description="DIGITALOCEAN_API_URL.")
    export_dir: str = Field(description="BILLING_DO_EXPORT_DIR, used when no token is set.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout.")
    max_retries: int = Field(default=5, description="Retries of 429/5xx/connection errors per request.")
    backoff_base_s: float = Field(default=1.0, description="First backoff step; doubles per retry, with jitter.")
    team_name: str = Field(default=DEFAULT_TEAM_NAME, description=(
        "DIGITALOCEAN_TEAM_NAME: the team the bills belong to, as the control panel names it; FOCUS "
        "BillingAccountName (DigitalOcean's billing documents do not carry it)."))

    @property
    def mode(self) -> str:
        return "api" if self.token else "export_folder"

    def document_source(self) -> DocumentSource:
        """The API when a token is set, else the export folder: both return the same raw documents.
        The token is checked here, before any request is built (SecretError names it, not its value)."""
        if self.token:
            return ApiSource(DigitalOceanClient(self.token, self.api_url, timeout_s=self.timeout_s,
                                                max_retries=self.max_retries, backoff_base_s=self.backoff_base_s))
        return FolderSource(self.export_dir)


def digitalocean_from_environment() -> DigitalOceanResource:
    return DigitalOceanResource(token=secret_env("DIGITALOCEAN_TOKEN"),
                                api_url=os.environ.get("DIGITALOCEAN_API_URL") or DEFAULT_DO_API_URL,
                                export_dir=str(locations().do_export_dir),
                                team_name=os.environ.get("DIGITALOCEAN_TEAM_NAME") or DEFAULT_TEAM_NAME)
