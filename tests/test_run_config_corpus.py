"""The run-config half of the bad-input corpus (with tests/source/test_source_validation.py and
tests/ingest/test_bad_documents.py): each case launches a real job or asset run with one bad field,
and asserts the step fails with a message naming the field and that the warehouse is unchanged."""

import hashlib
from datetime import UTC, datetime

import dagster as dg

from tests.revenue.payments.test_stripe_and_reversals import BAD_REVERSALS

APRIL = "2026-04-01"
NOT_A_MONTH = "not in enum type BillingMonth"  # refused by the config schema: the Launchpad says it before launch
CASES = [  # (job, or the assets of one step, op, config, message)
    ("issue_invoices", "issue_month_drafts", {"period": "13/2026"}, NOT_A_MONTH),
    ("issue_invoices", "issue_month_drafts", {"period": "2026-4x"}, NOT_A_MONTH),
    ("issue_invoices", "issue_month_drafts", {"period": ""}, NOT_A_MONTH),
    ("issue_invoices", "issue_month_drafts", {"period": f"{datetime.now(UTC):%Y-%m}"}, "has not ended"),
    ("issue_invoices", "issue_month_drafts", {"period": "2026-02"}, "period: no invoices for 2026-02"),
    ("issue_invoices", "issue_month_drafts", {"period": "2026-04", "issued_by": " "}, "issued_by:"),
    ("preview_invoice", "preview_tenant_invoice", {"tenant": "nobody", "period": "2026-04"}, "tenant:"),
    ("preview_invoice", "preview_tenant_invoice", {"tenant": "acme", "period": "April"}, NOT_A_MONTH),
    ("preview_invoice", "preview_tenant_invoice", {"tenant": "acme", "period": "2026-09"}, "not been materialized"),
    (("tenant_invoices", "tenant_invoice_lines"), "tenant_invoices", {"exclude_tenants": ["nobody"]}, "unknown tenants: nobody"),
    (("metered_usage",), "metered_usage", {"late_usage_grace_hours": -1}, "late_usage_grace_hours"),
    (("deployment_margin", "tenant_margin", "monthly_pnl"), "margin_marts", {"fx_rates_csv": "/nonexistent/fx.csv"}, "/nonexistent/fx.csv"),
    (("month_to_date_estimate",), "month_to_date_estimate", {"as_of": "2026-04-10 12:00:00"},
     "as_of: '2026-04-10 12:00:00' has no UTC offset (a naive time is ambiguous); write ISO 8601 with an offset"),
    (("month_to_date_estimate",), "month_to_date_estimate", {"as_of": "yesterday"}, "as_of: 'yesterday' is not a"),
    (("month_to_date_estimate",), "month_to_date_estimate", {"month": "2026-13"}, "month:"),
    (("month_to_date_estimate",), "month_to_date_estimate", {"as_of": "2026-03-10T12:00:00Z", "month": "2026-04"},
     "as_of: 2026-03-10 12:00 UTC is not after the start of 2026-04"),
    (("month_to_date_estimate",), "month_to_date_estimate", {"alert_thresholds_percent": [100, 50]},
     "alert_thresholds_percent: [100, 50] must be positive whole percents in ascending order"),
    (("month_to_date_estimate",), "month_to_date_estimate", {"previous_month_alert_thresholds_percent": [150, 150]},
     "previous_month_alert_thresholds_percent: [150, 150] must be positive whole percents in ascending order"),
    (("source_usage_events",), "source_usage_events", {"lookback_hours": 0}, "lookback_hours"),
    (("source_usage_events",), "source_usage_events", {"full_refresh": "yes"}, "full_refresh"),
    *BAD_REVERSALS,
]


def warehouse_digest(env) -> str:
    """Every row of every table, hashed: 'nothing else changed' means this is the same."""
    digest = hashlib.sha256()
    with env.connect() as conn:
        for schema, table in conn.execute("SELECT schema_name, table_name FROM duckdb_tables() "
                                          "WHERE database_name = current_database() ORDER BY ALL").fetchall():
            digest.update(repr(conn.execute(f'SELECT * FROM "{schema}"."{table}" ORDER BY ALL').fetchall()).encode())
    return digest.hexdigest()


def failure_message(result) -> str:
    """What the operator reads on the failed step: a Failure's description, else the error and its causes."""
    failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data
    if failure.user_failure_data:
        return failure.user_failure_data.description
    texts, error = [], failure.error
    while error is not None:
        texts.append(error.message)
        error = error.cause
    return " <- ".join(texts)


def test_a_bad_run_config_is_refused_naming_the_field_and_changes_nothing(april_closed):
    """Every case against one closed April: a refusal changes nothing, so they share the set-up."""
    env = april_closed
    before = warehouse_digest(env)
    for name, op, config, message in CASES:
        run_config = {"ops": {op: {"config": config}}}
        try:
            if isinstance(name, str):
                result = env.defs.resolve_job_def(name).execute_in_process(run_config=run_config,
                                                                           raise_on_error=False)
            else:
                monthly = name not in (("month_to_date_estimate",), ("source_usage_events",))
                result = env.materialize(list(name), partition_key=APRIL if monthly else None, run_config=run_config,
                                         raise_on_error=False)
        except dg.DagsterInvalidConfigError as exc:  # refused by the config schema: no run starts
            assert message in str(exc), (name, config, str(exc)[:500])
            continue
        assert not result.success, (name, config)
        assert message in failure_message(result), (name, config, failure_message(result)[:500])
        assert warehouse_digest(env) == before, (name, config)
