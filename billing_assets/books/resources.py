"""Which finance target the books go to, as a Dagster resource."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from billing_assets.books.xero import API_URL, TOKEN_URL
from billing_assets.books.xero_payloads import (
    DEFAULT_ACCOUNTS,
    DEFAULT_TAX_TYPES,
    XeroMapping,
    XeroMappingError,
)
from billing_assets.settings import secret_env

TARGETS = ("none", "finance-service", "xero")


class FinanceResource(dg.ConfigurableResource):
    """BILLING_FINANCE_TARGET picks where payables and receivables go; `none` (the default) pushes
    nothing, and the runs say so."""

    target: str = Field(default="none", description="BILLING_FINANCE_TARGET: none, finance-service or xero.")
    url: str | None = Field(default=None, description="FINANCE_URL: the finance service's base URL.")
    jwt_secret: str | None = Field(default=None, description="FINANCE_JWT_SECRET: HS256 secret shared with the "
                                                            "finance service (secret).")
    xero_client_id: str | None = Field(default=None, description="XERO_CLIENT_ID: the custom connection's client id.")
    xero_client_secret: str | None = Field(default=None, description="XERO_CLIENT_SECRET: its client secret (secret).")
    xero_tenant_id: str | None = Field(default=None, description="XERO_TENANT_ID: sent as xero-tenant-id when set "
                                                               "(a custom connection reaches one organisation).")
    xero_api_url: str = Field(default=API_URL, description="XERO_API_URL: the Accounting API's base URL.")
    xero_token_url: str = Field(default=TOKEN_URL, description="XERO_TOKEN_URL: the OAuth2 token endpoint.")
    xero_account_codes: str = Field(default="", description="XERO_ACCOUNT_CODES: key=code pairs over the defaults "
                                                            f"{DEFAULT_ACCOUNTS} (keys payable, sales or a line kind).")
    xero_tax_types: str = Field(default="", description="XERO_TAX_TYPES: key=TaxType pairs over the defaults "
                                                        f"{DEFAULT_TAX_TYPES} (keys payable, payable-untaxed or a "
                                                        "tenant's tax jurisdiction).")
    xero_calls_per_minute: int = Field(default=60, description="Xero's limit per organisation: 60 calls a minute.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout.")
    max_retries: int = Field(default=3, description="Retries of a request that can heal (timeouts, 429, 5xx).")
    backoff_s: float = Field(default=1.0, description="First retry's wait; doubles each time.")

    def problem(self) -> str | None:
        """Why the configured target cannot be used, or None."""
        if self.target not in TARGETS:
            return f"BILLING_FINANCE_TARGET: {self.target!r} is not one of {', '.join(TARGETS)}"
        if self.target == "finance-service" and not (self.url and self.jwt_secret):
            return "BILLING_FINANCE_TARGET=finance-service needs FINANCE_URL and FINANCE_JWT_SECRET"
        if self.target == "xero":
            if not (self.xero_client_id and self.xero_client_secret):
                return "BILLING_FINANCE_TARGET=xero needs XERO_CLIENT_ID and XERO_CLIENT_SECRET"
            try:
                XeroMapping.parse(self.xero_account_codes, self.xero_tax_types)
            except XeroMappingError as exc:
                return str(exc)
        return None


def finance_from_environment() -> FinanceResource:
    env = os.environ.get
    return FinanceResource(target=(env("BILLING_FINANCE_TARGET") or "none").strip(),
                           url=env("FINANCE_URL") or None, jwt_secret=secret_env("FINANCE_JWT_SECRET"),
                           xero_client_id=env("XERO_CLIENT_ID") or None, xero_client_secret=secret_env("XERO_CLIENT_SECRET"),
                           xero_tenant_id=env("XERO_TENANT_ID") or None, xero_api_url=env("XERO_API_URL") or API_URL,
                           xero_token_url=env("XERO_TOKEN_URL") or TOKEN_URL,
                           xero_account_codes=env("XERO_ACCOUNT_CODES", ""), xero_tax_types=env("XERO_TAX_TYPES", ""))
