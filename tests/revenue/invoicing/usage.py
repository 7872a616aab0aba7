"""Test helper: usage for the quote engine, which takes it per (plan phase, metric)."""

from billing_assets.revenue.invoicing.rating import Subscription, SubscriptionUsage


def at_first_phase(sub: Subscription, usage: dict[str, int]) -> SubscriptionUsage:
    """All of a subscription's usage on its first plan phase (the usual single-phase subscription)."""
    first = min(p.start for p in sub.phases)
    return SubscriptionUsage(sub, {(first, metric): quantity for metric, quantity in usage.items()})
