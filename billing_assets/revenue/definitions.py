"""The revenue side's definitions: metering, invoicing, payments and the running-month estimate, each bound to its own resources."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from billing_assets.revenue.estimates import definitions as estimates
from billing_assets.revenue.invoicing import definitions as invoicing
from billing_assets.revenue.metering import definitions as metering
from billing_assets.revenue.payments import definitions as payments


def build(resources: Mapping[str, dg.ConfigurableResource] | None = None) -> dg.Definitions:
    return dg.Definitions.merge(metering.build(resources), invoicing.build(resources), payments.build(resources),
                                 estimates.build(resources))
