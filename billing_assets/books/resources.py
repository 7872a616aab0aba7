"""Which finance target the books go to, as a Dagster resource."""

from __future__ import annotations

import os

import dagster as dg
from pydantic import Field

from billing_assets.settings import secret_env

TARGETS = ("none", "finance-service", "xero")


class FinanceResource(dg.ConfigurableResource):
    """BILLING_FINANCE_TARGET picks where payables and receivables go; `none` (the default) pushes
    nothing, and the runs say so."""

    target: str = Field(default="none", description="BILLING_FINANCE_TARGET: none, finance-service or xero.")
    url: str | None = Field(default=None, description="FINANCE_URL: the finance service's base URL.")
    jwt_secret: str | None = Field(default=None, description="FINANCE_JWT_SECRET: HS256 secret shared with the "
                                                            "finance service (secret).")
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
            return "BILLING_FINANCE_TARGET=xero: the Xero push is not built yet (issue #19); use finance-service"
        return None


def finance_from_environment() -> FinanceResource:
    return FinanceResource(target=(os.environ.get("BILLING_FINANCE_TARGET") or "none").strip(),
                           url=os.environ.get("FINANCE_URL") or None, jwt_secret=secret_env("FINANCE_JWT_SECRET"))
