"""Stripe as a Dagster resource."""

from __future__ import annotations

import os

import dagster as dg
import stripe as stripe_sdk
from pydantic import Field

from billing_assets.revenue.payments.stripe_push import make_client
from billing_assets.settings import secret_env

DEFAULT_STRIPE_API_BASE = "https://api.stripe.com"


class StripeResource(dg.ConfigurableResource):
    """Stripe for issuing invoices and reading payments; off when no key is set (and runs say so)."""

    api_key: str | None = Field(default=None, description="STRIPE_API_KEY.")
    api_base: str = Field(default=DEFAULT_STRIPE_API_BASE, description="STRIPE_API_BASE.")
    timeout_s: float = Field(default=30.0, description="Per-request timeout.")
    max_network_retries: int = Field(default=3, description="SDK retries of one request (same idempotency key).")

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    def client(self) -> stripe_sdk.StripeClient:
        """A client on this key (checked first: SecretError names STRIPE_API_KEY, never its value)."""
        return make_client(self.api_key, self.api_base, self.timeout_s, self.max_network_retries)


def stripe_from_environment() -> StripeResource:
    return StripeResource(api_key=secret_env("STRIPE_API_KEY"),
                          api_base=os.environ.get("STRIPE_API_BASE") or DEFAULT_STRIPE_API_BASE)
