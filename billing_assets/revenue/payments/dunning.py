"""The dunning policy: what to suggest for a tenant who owes money. Suggestions only; nothing here
(or anywhere in billing_assets) changes a deployment. The lifecycle follows the reference one:
Active -> Past due (payment fails) -> Suspended (day 14-21) -> Churned (day 28+).

| facts (as of the day, oldest open document's days past due)         | suggestion     |
|----------------------------------------------------------------------|----------------|
| days past due >= churn_review_after_days (28)                         | `churn_review` |
| days past due >= suspend_after_days (14)                              | `suspend`      |
| days past due >= past_due_after_days (1), or a failed payment on an   | `past_due`     |
| open document, or a dispute not won                                   |                |
| otherwise                                                             | `active`       |

What each suggestion expects of the tenant's deployments (the check lists tenants where it is not
so): `suspend` and `churn_review` expect every live deployment suspended; `active` and `past_due`
expect none suspended.
"""

from __future__ import annotations

from dataclasses import dataclass

SUSPENDED_SUGGESTIONS = {"suspend", "churn_review"}


@dataclass(frozen=True)
class DunningPolicy:
    past_due_after_days: int = 1
    suspend_after_days: int = 14
    churn_review_after_days: int = 28

    def __post_init__(self) -> None:
        if not 0 < self.past_due_after_days <= self.suspend_after_days <= self.churn_review_after_days:
            raise ValueError("dunning thresholds must satisfy 0 < past_due <= suspend <= churn_review, got "
                             f"{self.past_due_after_days}, {self.suspend_after_days}, {self.churn_review_after_days}")


@dataclass(frozen=True)
class TenantFacts:
    oldest_days_past_due: int
    open_usd_minor: int
    open_documents: int
    failed_payments: int
    open_disputes: int


def suggest(policy: DunningPolicy, facts: TenantFacts) -> tuple[str, str]:
    """(suggestion, reason) for one tenant."""
    days = facts.oldest_days_past_due if facts.open_documents else 0
    if days >= policy.churn_review_after_days:
        return "churn_review", f"{days} days past due (churn review from day {policy.churn_review_after_days})"
    if days >= policy.suspend_after_days:
        return "suspend", f"{days} days past due (suspend from day {policy.suspend_after_days})"
    reasons = []
    if days >= policy.past_due_after_days:
        reasons.append(f"{days} days past due")
    if facts.failed_payments and facts.open_documents:
        reasons.append(f"{facts.failed_payments} failed payment" + ("s" if facts.failed_payments > 1 else ""))
    if facts.open_disputes:
        reasons.append(f"{facts.open_disputes} dispute" + ("s" if facts.open_disputes > 1 else "") + " not won")
    if reasons:
        return "past_due", ", ".join(reasons)
    return "active", "nothing overdue" if facts.open_documents else "nothing owed"


def differs_from_deployments(suggestion: str, deployment_states: set[str]) -> str | None:
    """Why the deployments' states do not match the suggestion, or None when they do."""
    live = deployment_states - {"deleted"}
    if not live:
        return None
    if suggestion in SUSPENDED_SUGGESTIONS and live != {"suspended"}:
        return f"suggested {suggestion}, deployments {', '.join(sorted(live))}"
    if suggestion not in SUSPENDED_SUGGESTIONS and "suspended" in live:
        return f"suggested {suggestion}, a deployment is suspended"
    return None
