"""Receivables aging and dunning suggestions (issue 20): buckets and suggestions worked out by hand
from the issue date, the 14-day terms and what Stripe's events said was paid or failed."""

from datetime import timedelta

import dagster as dg
import pytest

from billing_assets.revenue.payments.dunning import (
    DunningPolicy,
    TenantFacts,
    differs_from_deployments,
    suggest,
)
from billing_assets.sample_world import stable_id

ACME, BONDI, REDWOOD = (stable_id("tenant", s) for s in ("acme", "bondi-labs", "redwood-media"))
STRIPE = ["stripe_invoices", "stripe_payments", "ledger_entries"]


@pytest.mark.parametrize(("facts", "expected"), [
    (TenantFacts(0, 0, 0, 0, 0), ("active", "nothing owed")),
    (TenantFacts(-3, 500, 1, 0, 0), ("active", "nothing overdue")),
    (TenantFacts(-3, 500, 1, 1, 0), ("past_due", "1 failed payment")),           # fails before it is due
    (TenantFacts(1, 500, 1, 0, 0), ("past_due", "1 days past due")),
    (TenantFacts(13, 500, 2, 2, 1), ("past_due", "13 days past due, 2 failed payments, 1 dispute not won")),
    (TenantFacts(14, 500, 1, 0, 0), ("suspend", "14 days past due (suspend from day 14)")),
    (TenantFacts(27, 500, 1, 0, 0), ("suspend", "27 days past due (suspend from day 14)")),
    (TenantFacts(28, 500, 1, 0, 0), ("churn_review", "28 days past due (churn review from day 28)")),
    (TenantFacts(0, 0, 0, 3, 0), ("active", "nothing owed")),                    # failures on paid documents
])
def test_the_policy_table(facts, expected):
    assert suggest(DunningPolicy(), facts) == expected


def test_thresholds_are_configurable_and_must_be_in_order():
    assert suggest(DunningPolicy(5, 7, 10), TenantFacts(4, 1, 1, 0, 0))[0] == "active"
    assert suggest(DunningPolicy(5, 7, 10), TenantFacts(7, 1, 1, 0, 0))[0] == "suspend"
    with pytest.raises(ValueError, match="0 < past_due <= suspend <= churn_review"):
        DunningPolicy(1, 30, 14)
    assert differs_from_deployments("suspend", {"active", "deleted"}) == "suggested suspend, deployments active"
    assert differs_from_deployments("active", {"suspended"}) == "suggested active, a deployment is suspended"
    assert differs_from_deployments("churn_review", {"suspended", "deleted"}) is None
    assert differs_from_deployments("past_due", {"active", "provisioning"}) is None


def age(env, as_of, **policy):
    config = {"ops": {"receivables_aging": {"config": {"as_of": str(as_of), **policy}}}}
    result = env.materialize(["receivables_aging"], run_config=config)
    with env.connect() as conn:
        aging = {r[0]: r[1:] for r in conn.execute(
            "SELECT tenant_id, open_minor, days_past_due, bucket FROM revenue.receivables_aging WHERE as_of_date = ?",
            [as_of]).fetchall()}
        dunning = {r[0]: r[1:] for r in conn.execute(
            "SELECT tenant_id, suggestion, reason FROM revenue.dunning_suggestions WHERE as_of_date = ?",
            [as_of]).fetchall()}
    return result, aging, dunning


def test_aging_buckets_and_suggestions_follow_the_days_past_due(issued, fake_stripe):
    issued.materialize(STRIPE)
    with issued.connect() as conn:
        docs = {r[0]: r[1:] for r in conn.execute(
            "SELECT i.tenant_id, s.stripe_object_id, i.total_minor, CAST(i.issued_at AS DATE) FROM "
            "revenue.tenant_invoices i JOIN revenue.stripe_documents s USING (invoice_id)").fetchall()}
    issued_on = docs[ACME][2]
    fake_stripe.pay(docs[ACME][0])               # acme pays in full
    fake_stripe.fail_payment(docs[BONDI][0])     # bondi's card is declined
    fake_stripe.pay(docs[REDWOOD][0], 1000)        # redwood pays 10.00 of it
    issued.materialize(STRIPE)

    # Ten days after issue: nothing is due yet (due = issue + 14), but bondi's payment failed.
    _, aging, dunning = age(issued, issued_on + timedelta(days=10))
    assert ACME not in aging and aging[BONDI] == (docs[BONDI][1], -4, "current")
    assert aging[REDWOOD] == (docs[REDWOOD][1] - 1000, -4, "current")        # open = total - 10.00
    assert dunning[BONDI] == ("past_due", "1 failed payment") and dunning[REDWOOD] == ("active", "nothing overdue")
    assert dunning[ACME] == ("active", "nothing owed")

    # Day 15 after issue = 1 day past due: bucket 1-30 for both open documents.
    _, aging, dunning = age(issued, issued_on + timedelta(days=15))
    assert aging[BONDI][1:] == (1, "1-30") and aging[REDWOOD][1:] == (1, "1-30")
    assert dunning[BONDI] == ("past_due", "1 days past due, 1 failed payment")
    assert dunning[REDWOOD] == ("past_due", "1 days past due")

    # Day 28 after issue = 14 days past due: suspend suggested; the deployments are still active (WARN).
    result, aging, dunning = age(issued, issued_on + timedelta(days=28))
    assert dunning[BONDI][0] == dunning[REDWOOD][0] == "suspend"
    (check,) = result.get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert "bondi-labs" in check.metadata["details"].value and "acme" not in check.metadata["details"].value

    # Day 105 = 91 days past due: 90+ and churn review. A stricter policy moves the same facts sooner.
    _, aging, dunning = age(issued, issued_on + timedelta(days=105))
    assert aging[BONDI][1:] == (91, "90+") and dunning[BONDI][0] == "churn_review"
    _, _, dunning = age(issued, issued_on + timedelta(days=20), past_due_after_days=1, suspend_after_days=3,
                        churn_review_after_days=6)
    assert dunning[BONDI][0] == "churn_review"  # 6 days past due: churn review from day 6
    with issued.connect() as conn:  # one row per tenant and day; days stay for trends
        assert conn.execute("SELECT count(DISTINCT as_of_date) FROM revenue.dunning_suggestions").fetchone()[0] == 5


def test_a_bad_as_of_or_policy_is_refused_in_one_line(issued):
    for config, message in (({"as_of": "2026-13-01"}, "not a date"),
                            ({"as_of": "2026-05-01", "suspend_after_days": 40}, "past_due <= suspend <= churn_review")):
        result = issued.materialize(["receivables_aging"], run_config={"ops": {"receivables_aging": {"config": config}}},
                                    raise_on_error=False)
        assert not result.success
        failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
        assert message in failure.event_specific_data.error.message
