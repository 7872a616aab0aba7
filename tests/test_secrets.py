"""Secrets cannot leak: keys are checked before any request is built, every HTTP error passes through
one redaction, and nothing that can never heal (a malformed key, 401/403/404) is retried. A marker
secret is then searched for in stdout/stderr, the Dagster run storage, the compute logs, the
warehouse and the exports, across success, failure and malformed-key runs."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from billing_assets.ingest.client import DigitalOceanClient, DigitalOceanError
from billing_assets.ingest.resources import DigitalOceanResource
from billing_assets.revenue.payments.resources import StripeResource
from billing_assets.secrets import SecretError, checked_secret, redact
from tests.conftest import Env, make_resources
from tests.fakes.digitalocean import TOKEN
from tests.fakes.stripe import FakeStripe

MARKER_DO = "dop_v1_" + "feedfacecafebeef" * 4   # made up; never a real token
MARKER_STRIPE = "sk_test_markerMARKERmarker42"


def test_checked_secret_strips_the_edges_and_refuses_the_inside_by_name():
    assert checked_secret("DIGITALOCEAN_TOKEN", f"{TOKEN}\n") == TOKEN  # a stray trailing newline
    for bad in (f"{MARKER_DO[:10]}\n{MARKER_DO[10:]}", f"{MARKER_DO[:10]} {MARKER_DO[10:]}", "  \n"):
        with pytest.raises(SecretError, match=r"^DIGITALOCEAN_TOKEN (contains whitespace|is set but empty)") as err:
            checked_secret("DIGITALOCEAN_TOKEN", bad)
        assert MARKER_DO[:10] not in str(err.value)


@pytest.mark.parametrize("text", [
    f"Invalid leading whitespace, reserved character(s), or return character(s) in header value: 'Bearer {MARKER_DO}\\n'",
    f"echo: Authorization: Bearer {MARKER_DO}",
    f"bad key {MARKER_STRIPE} used",
    f'{{"headers": {{"authorization": "Bearer {MARKER_DO}"}}}}',
])
def test_redact_removes_credentials_of_every_shape(text):
    assert MARKER_DO not in redact(text) and MARKER_STRIPE not in redact(text)


def test_a_token_with_a_newline_inside_fails_before_any_request(do_api):
    with pytest.raises(SecretError) as err:
        DigitalOceanClient(f"{TOKEN[:20]}\n{TOKEN[20:]}", do_api.base_url)
    assert TOKEN[:20] not in str(err.value) and not do_api.requests


def test_a_token_with_a_trailing_newline_works(do_api):
    client = DigitalOceanClient(f"{TOKEN}\n", do_api.base_url, sleep=lambda s: None)
    assert client.get("/v2/customers/my/balance").status == 200


def test_an_error_body_echoing_the_token_is_redacted_and_401_is_not_retried(do_api):
    do_api.fail("/v2/customers/my/balance", ("error", 422, "unprocessable", f"echo: Authorization: Bearer {TOKEN}"))
    client = DigitalOceanClient(TOKEN, do_api.base_url, max_retries=0, sleep=lambda s: None)
    with pytest.raises(DigitalOceanError) as err:
        client.get("/v2/customers/my/balance")
    assert TOKEN not in str(err.value) and "***" in str(err.value)
    wrong = DigitalOceanClient(MARKER_DO, do_api.base_url, max_retries=5, sleep=lambda s: None)
    before = len(do_api.requests)
    with pytest.raises(DigitalOceanError) as err:
        wrong.get("/v2/customers/my/balance")
    assert err.value.permanent and err.value.status == 401
    assert len(do_api.requests) == before + 1  # asked once, not six times


def _everything_written(instance: dg.DagsterInstance, root: Path) -> str:
    """Every place a secret could land: run storage (all event records), the instance's files (compute
    logs among them), the warehouse, the exports."""
    parts = []
    for run in instance.get_runs():
        parts += [str(e) for e in instance.all_logs(run.run_id)]
        parts.append(str(run.run_config) + str(run.tags))
    for path in [*root.rglob("*"), *Path(instance.root_directory).rglob("*")]:
        if path.is_file() and path.suffix not in (".duckdb", ".wal", ".sqlite"):
            parts.append(path.read_bytes().decode("utf-8", "replace"))
    warehouse = root / "warehouse.duckdb"
    if warehouse.exists():
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            for schema, table in conn.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall():
                parts += [repr(r) for r in conn.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall()]
    return "\n".join(parts)


@pytest.mark.parametrize("case", ["success", "rejected token", "malformed token"])
def test_no_secret_lands_anywhere(case, env, do_api, tmp_path, capfd):
    token = {"success": f"{TOKEN}\n", "rejected token": MARKER_DO, "malformed token": f"{MARKER_DO}\r\nX: y"}[case]
    marker = TOKEN if case == "success" else MARKER_DO
    root = tmp_path / "run"
    root.mkdir()
    resources = make_resources(root, source_url=env.resources["source_db"].url, token=token, api_url=do_api.base_url,
                               backoff_base_s=0.01, timeout_s=5)
    with dg.instance_for_test() as instance:
        result = Env(root, resources).materialize(["do_balance_snapshots", "do_billing_history"], instance=instance,
                                                  raise_on_error=False)
        assert result.success == (case == "success")
        if case != "success":
            events = [e.event_type_value for e in result.all_events]
            assert "STEP_UP_FOR_RETRY" not in events  # never heals, never retried
            failure = next(e for e in result.all_events if e.is_step_failure)
            assert re.search(r"DIGITALOCEAN_TOKEN|rejected", failure.event_specific_data.error.message)
        written = _everything_written(instance, tmp_path)
    out, err = capfd.readouterr()
    for where, text in (("stdout", out), ("stderr", err), ("storage, logs, warehouse, exports", written)):
        assert marker not in text, f"{case}: the token appears in {where}"


def test_stripe_rejecting_the_key_fails_at_once_without_the_key(env, httpserver, tmp_path, capfd):
    fake = FakeStripe("sk_test_the_right_one")
    httpserver.expect_request(re.compile(r"^/v1/.*")).respond_with_handler(fake)
    stripe = StripeResource(api_key=MARKER_STRIPE, api_base=httpserver.url_for("/").rstrip("/"), timeout_s=2)
    closed = Env(env.root, {**env.resources, "stripe": stripe})
    assert closed.month_close("2026-04-01", "2026-04-01").success  # nothing issued: nothing pushed
    issue = closed.defs.resolve_job_def("issue_invoices")
    assert issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": "2026-04"}}}}).success
    with dg.instance_for_test() as instance:
        result = closed.materialize(["stripe_invoices"], instance=instance, raise_on_error=False)
        assert not result.success
        assert "STEP_UP_FOR_RETRY" not in [e.event_type_value for e in result.all_events]
        failure = next(e for e in result.all_events if e.is_step_failure).event_specific_data.error.message
        assert "AuthenticationError (HTTP 401)" in failure
        written = _everything_written(instance, tmp_path)
    out, err = capfd.readouterr()
    assert MARKER_STRIPE not in failure + written + out + err
    assert len([r for r in fake.requests if r]) == 1  # one request (customer search), no retry


def test_malformed_keys_are_refused_by_name_at_set_up():
    resource = DigitalOceanResource(export_dir="/nowhere", token=f"{TOKEN[:8]}\t{TOKEN[8:]}")
    with pytest.raises(SecretError, match="^DIGITALOCEAN_TOKEN contains whitespace"):
        resource.document_source()
    from billing_assets.revenue.payments.stripe_push import make_client

    with pytest.raises(SecretError, match="^STRIPE_API_KEY contains whitespace") as err:
        make_client(f"{MARKER_STRIPE}\nInjected: 1", "http://127.0.0.1:9")
    assert MARKER_STRIPE not in str(err.value)
