"""Tenant invoices through the assets: the pilot case, re-runs, issue, corrections, config errors."""

import sqlite3

import dagster as dg
import pytest

from billing_assets.revenue.invoicing.preview import preview_rows
from billing_assets.sample_world import stable_id
from tests.revenue.metering.test_metering import PILOT, SNAPSHOT

ACME = stable_id("tenant", "acme")
INVOICES = [*SNAPSHOT, "metered_usage", "tenant_invoices", "tenant_invoice_lines"]


def invoice(env, month="2026-04", **kw):
    return env.materialize(INVOICES, partition_key=f"{month}-01", **kw)


def documents(env, tenant=ACME, month="2026-04"):
    with env.connect() as conn:
        return conn.execute(
            "SELECT invoice_number, document_type, status, subtotal_minor, tax_minor, total_minor, corrects_invoice_id "
            "FROM revenue.tenant_invoices WHERE tenant_id = ? AND period_start = ? ORDER BY correction_seq",
            [tenant, f"{month}-01"]).fetchall()


def outcomes(result):
    meta = next(m for m in result.asset_materializations_for_node("tenant_invoices")
                if m.asset_key == dg.AssetKey("tenant_invoices")).metadata
    return meta["outcomes"].value


def failed_checks(result) -> set[str]:
    """Checks that did not pass, less the one the sample world fails on purpose: its internal
    platform-ops deployment runs a droplet without a subscription, listed as unbilled usage (WARN)."""
    return {e.check_name for e in result.get_asset_check_evaluations() if not e.passed} - {"all_usage_billable"}


def issue(env, month="2026-04"):
    job = env.defs.resolve_job_def("issue_invoices")
    return job.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": month}}}})


def test_pilot_invoice_to_the_cent_and_rerun_skips(env):
    first = invoice(env)
    assert documents(env) == [(None, "invoice", "draft", 6422, 642, 7064, None)]  # a draft has no number yet
    assert not failed_checks(first)
    with env.connect() as conn:
        lines = conn.execute(
            "SELECT kind, description, amount_minor, deployment_id, metric, l.tax_rate FROM revenue.tenant_invoice_lines "
            "l JOIN revenue.tenant_invoices i USING (invoice_id) WHERE i.tenant_id = ? "
            "ORDER BY line_number", [ACME]).fetchall()
        rows_before = conn.execute("SELECT * FROM revenue.tenant_invoices ORDER BY ALL").fetchall()
    assert [(k, a) for k, _, a, _, _, _ in lines] == [("plan_base", 5000), ("addon", 750), ("overage", 672),
                                                      ("tax", 642)]
    assert lines[1][1] == "acme-studio: Addon: storage_50gb"
    assert lines[2][3] == PILOT and lines[2][4] == "droplet_hours"
    assert lines[3][3] is None and str(lines[3][5]) == "0.100000"
    second = invoice(env)
    assert outcomes(second) == {"unchanged": 9}
    with env.connect() as conn:
        assert conn.execute("SELECT * FROM revenue.tenant_invoices ORDER BY ALL").fetchall() == rows_before
    assert outcomes(invoice(env, run_config={"ops": {"tenant_invoices": {"config": {"force": True}}}})) == {
        "recomputed": 9}


def test_issued_invoice_is_never_changed_a_corrected_input_becomes_a_supplementary_invoice(env):
    invoice(env)
    assert issue(env).success
    conn = sqlite3.connect(env.root / "source.sqlite")  # a droplet the platform forgot to record in April
    conn.execute("INSERT INTO cloud_resources VALUES ('r-late', ?, 'digitalocean', 'droplet', '9', NULL, 'late', "
                 "'s-1vcpu-1gb', 'syd1', '2026-04-01 00:00:00', '2026-04-06 00:00:00')", [PILOT])
    conn.commit()
    conn.close()
    result = invoice(env)
    docs = documents(env)
    assert docs[0][1:] == ("invoice", "issued", 6422, 642, 7064, None)
    assert docs[1][:6] == (None, "supplementary_invoice", "draft", 120, 12, 132)
    assert outcomes(result)["corrected"] == 1
    assert not failed_checks(result)
    # Re-running changes nothing; issuing the correction then re-running adds nothing new.
    assert outcomes(invoice(env)) == {"unchanged": 1, "skipped-issued": 8}
    issue(env)
    assert outcomes(invoice(env)) == {"skipped-issued": 9}
    assert documents(env)[1][:3] == ("SUP-202604-000001", "supplementary_invoice", "issued")


def test_tampering_with_an_issued_invoice_is_caught(env):
    invoice(env)
    issue(env)
    import duckdb

    with duckdb.connect(str(env.warehouse_path)) as conn:
        conn.execute("UPDATE revenue.tenant_invoice_lines SET description = 'edited' WHERE kind = 'addon'")
    result = invoice(env, raise_on_error=False)
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not checks["issued_invoices_unchanged"].passed


def test_run_config_filters_and_validates(env):
    result = invoice(env, run_config={"ops": {"tenant_invoices": {"config": {
        "exclude_tenants": ["acme"], "only_segment": None}}}})
    assert documents(env) == []
    with env.connect() as conn:
        reason = conn.execute("SELECT DISTINCT reason FROM revenue.invoice_exclusions WHERE tenant_id = ?",
                              [ACME]).fetchall()
    assert reason == [("excluded by run config exclude_tenants",)]
    assert not failed_checks(result)
    luxor = invoice(env, month="2026-05", run_config={"ops": {"tenant_invoices": {"config": {"only_segment": "luxor"}}}})
    assert outcomes(luxor) == {"created": 2, "excluded": 7}
    with pytest.raises(Exception, match="unknown tenants: nobody"):
        invoice(env, run_config={"ops": {"tenant_invoices": {"config": {"exclude_tenants": ["nobody"]}}}})


def test_preview_uses_the_same_engine_and_validates_its_fields(env):
    invoice(env)
    with env.connect() as conn:
        q, rows = preview_rows(conn, "acme", "2026-04")
        assert q.total == 7064 and rows[-1] == ("", "Total", "", "USD 70.64")
        with pytest.raises(ValueError, match="^tenant:"):
            preview_rows(conn, "nobody", "2026-04")
        with pytest.raises(ValueError, match="^period:"):
            preview_rows(conn, "acme", "April")
        with pytest.raises(ValueError, match="not been materialized"):
            preview_rows(conn, "acme", "2026-09")
    job = env.defs.resolve_job_def("preview_invoice")
    result = job.execute_in_process(run_config={"ops": {"preview_tenant_invoice": {"config": {
        "tenant": "acme", "period": "2026-04"}}}})
    assert result.success
    meta = next(e for e in result.all_events if e.is_successful_output).event_specific_data.metadata
    assert meta["total_minor"].value == 7064 and "Addon: storage_50gb" in meta["lines"].value
    with pytest.raises(dg.DagsterInvalidConfigError, match="not in enum type BillingMonth"):
        job.execute_in_process(run_config={"ops": {"preview_tenant_invoice": {"config": {
            "tenant": "acme", "period": "2026-4x"}}}})


def test_a_late_usage_event_after_issue_lands_on_the_next_invoice_not_a_supplementary_one(env):
    """bondi-api's api_requests are graduated; April's usage is already past the last tier (0.002 c per
    request), so 250,000 requests received on May 9 (after April's cut-off, May 1 03:00) cost
    250,000 x 0.002 = 500 cents on May's invoice; April's issued invoice gets no correction."""
    bondi = stable_id("tenant", "bondi-labs")
    invoice(env)
    assert issue(env).success
    issued_before = documents(env, tenant=bondi)
    invoice(env, month="2026-05")
    may_before = {(k, a) for k, _, a in prior_lines(env, bondi)}
    conn = sqlite3.connect(env.root / "source.sqlite")
    conn.execute("INSERT INTO usage_events VALUES ('late-evt', 'late-key', ?, 'api_requests', 250000, "
                 "'2026-04-28 10:00:00', '2026-05-09 08:00:00')", [stable_id("deployment", "bondi-api")])
    conn.commit()
    conn.close()
    april = invoice(env)
    assert outcomes(april)["skipped-issued"] == 9 and documents(env, tenant=bondi) == issued_before
    may = invoice(env, month="2026-05")
    assert not failed_checks(may)
    with env.connect() as c:
        late = c.execute("SELECT quantity, billed_in_period_start FROM revenue.late_usage WHERE event_id = 'late-evt'"
                         ).fetchall()
    assert [(q, str(b)) for q, b in late] == [(250000, "2026-05-01 00:00:00")]
    after = prior_lines(env, bondi)
    assert len(after) == 1 and after[0][1] == "2026-04-01 00:00:00"
    # The sample world's own April stragglers are on the same line; the new event adds exactly 500.
    before_amount = sum(a for _, a in may_before)
    assert after[0][2] - before_amount == 500


def prior_lines(env, tenant, month="2026-05"):
    with env.connect() as c:
        return [(k, str(u), a) for k, u, a in c.execute(
            "SELECT l.kind, l.usage_period_start, l.amount_minor FROM revenue.tenant_invoice_lines l JOIN "
            "revenue.tenant_invoices i USING (invoice_id) WHERE i.tenant_id = ? AND i.period_start = ? "
            "AND l.kind = 'prior_period_usage'", [tenant, f"{month}-01"]).fetchall()]


def test_re_running_every_sample_month_later_changes_no_document(env):
    """Every sample month closed, some issued; then stragglers for every month arrive in November
    (after every closed month's cut-off) and the months are closed again: not one document changes."""
    first, last = "2026-01-01", "2026-10-01"
    assert env.month_close(first, last).success
    for month in ("2026-01", "2026-02", "2026-03"):
        assert issue(env, month).success

    def stored():
        with env.connect() as conn:
            return (conn.execute("SELECT * EXCLUDE (computed_at) FROM revenue.tenant_invoices ORDER BY ALL").fetchall(),
                    conn.execute("SELECT * FROM revenue.tenant_invoice_lines ORDER BY ALL").fetchall())

    before = stored()
    conn = sqlite3.connect(env.root / "source.sqlite")
    conn.executemany("INSERT INTO usage_events VALUES (?, ?, ?, 'api_requests', 12345, ?, '2026-11-09 08:00:00')",
                     [(f"straggler-{m}", f"straggler-{m}", PILOT, f"2026-{m:02d}-15 10:00:00") for m in range(1, 11)])
    conn.commit()
    conn.close()
    assert env.month_close(first, last).success
    assert stored() == before


def test_documents_are_the_same_whatever_the_write_batch(env, monkeypatch):
    """The month's documents are written WRITE_BATCH_DOCUMENTS at a time (memory at 100,000 tenants);
    with a batch of one document, every draft replaced and rewritten, the stored rows are the same."""
    from billing_assets.revenue.invoicing import assets as invoicing_assets

    def stored():
        with env.connect() as conn:
            return (conn.execute("SELECT * EXCLUDE (computed_at) FROM revenue.tenant_invoices ORDER BY ALL").fetchall(),
                    conn.execute("SELECT * FROM revenue.tenant_invoice_lines ORDER BY ALL").fetchall(),
                    conn.execute("SELECT * FROM revenue.invoice_exclusions ORDER BY ALL").fetchall())

    assert invoice(env).success
    before = stored()
    assert len(before[0]) > 1
    monkeypatch.setattr(invoicing_assets, "WRITE_BATCH_DOCUMENTS", 1)
    rewritten = invoice(env, run_config={"ops": {"tenant_invoices": {"config": {"force": True}}}})
    assert rewritten.success and outcomes(rewritten).get("recomputed", 0) == len(before[0])
    assert stored() == before
