"""The operator's first look after the demo, through the real UI: `billing-assets demo` in a new home,
then `dagster dev` on it (webserver, daemon, code server, as a user starts them) and Debian's chromium,
headless, reading the pages the user would open. Screenshots are kept in .test-artifacts/ui/.

Nothing is mocked. Chromium is installed with apt-get when missing; the tests skip, saying so, only
where it cannot be installed (no apt-get, or not root).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from tests.test_operations import BIN, ROOT

pytestmark = pytest.mark.slow
ARTIFACTS = ROOT / ".test-artifacts" / "ui"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found and shutil.which("apt-get") and os.geteuid() == 0:
        subprocess.run(["apt-get", "install", "-y", "-q", "chromium"], capture_output=True, timeout=900)
        found = shutil.which("chromium")
    if not found:
        pytest.skip("Debian's chromium is not installed, and apt-get cannot install it here (no apt-get, or not root)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ui:
    def __init__(self, browser: str, base: str, home: Path, demo_output: str):
        self.browser, self.base, self.home, self.demo_output = browser, base, home, demo_output

    def _chromium(self, path: str, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([self.browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                               "--window-size=1400,2600", "--virtual-time-budget=20000", *args, self.base + path],
                              capture_output=True, text=True, timeout=120)

    def page(self, path: str) -> str:
        """The page's DOM once the UI's JavaScript has rendered it."""
        return self._chromium(path, "--dump-dom").stdout

    def screenshot(self, path: str, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        target = ARTIFACTS / name
        self._chromium(path, f"--screenshot={target}")
        assert target.stat().st_size > 10_000, f"no screenshot of {path}"
        return target

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home / "dagster_home"))


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    browser = chromium()
    home = tmp_path_factory.mktemp("operator")
    env = {**os.environ, "BILLING_HOME": str(home), "DAGSTER_HOME": str(home / "dagster_home")}
    for production_default in ("BILLING_FIRST_MONTH", "BILLING_AUTOMATION_DEFAULT"):  # as a new user has them
        env.pop(production_default, None)
    demo = subprocess.run([str(BIN / "billing-assets"), "demo"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    port = free_port()
    with (home / "dagster-dev.log").open("w") as log:
        dev = subprocess.Popen([str(BIN / "dagster"), "dev", "-w", str(ROOT / "workspace.yaml"), "-h", "127.0.0.1",
                                "-p", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        deadline = time.time() + 180
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5)
                break
            except OSError:
                assert time.time() < deadline and dev.poll() is None, (home / "dagster-dev.log").read_text()[-3000:]
                time.sleep(1)
        yield Ui(browser, f"http://127.0.0.1:{port}/", home, demo.stdout)
    finally:
        os.killpg(dev.pid, signal.SIGTERM)
        try:
            dev.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(dev.pid, signal.SIGKILL)


def test_the_demo_prints_one_line_per_step_or_month_and_logs_dagsters_events_to_a_file(ui):
    out = ui.demo_output
    # a line per step or month, the summary tables (~155 lines with the running month's): never Dagster's log
    assert " - DEBUG - " not in out and "Warning" not in out and len(out.splitlines()) < 175
    assert re.search(r"^  tenant_invoices +success +\d+\.\d s$", out, flags=re.M)  # one line per step
    assert re.search(r"^  2026-04 ok, 1 step in \d+\.\d s \(run [0-9a-f]{8}\)$", out, flags=re.M)  # one per month
    log = (ui.home / "demo.log").read_text()
    assert "RUN_SUCCESS" in log and "STEP_SUCCESS" in log and f"Dagster's event log of every run above: {ui.home}" in out


def test_the_month_close_job_page_lists_the_demos_runs(ui):
    with ui.instance() as instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name="month_close"))
    assert len(runs) == 2 and all(r.remote_job_origin.location_name == "billing_assets" for r in runs)
    page = ui.page("locations/billing_assets/jobs/month_close/runs")
    assert "No runs found" not in page
    assert {r.run_id[:8] for r in runs} <= set(re.findall(r"/runs/([0-9a-f]{8})", page))
    ui.screenshot("locations/billing_assets/jobs/month_close/runs", "month_close_runs.png")


def test_opening_the_ui_launches_nothing(ui):
    with ui.instance() as instance:
        before = {r.run_id for r in instance.get_runs()}
        for page in ("overview/activity", "automation", "assets/deployment_margin"):
            ui.page(page)
        time.sleep(35)  # more than one tick of the daemon's sensor, schedule and backfill loops (30 s)
        after = {r.run_id for r in instance.get_runs()}
        states = {s.instigator_name: s.status.value for s in instance.all_instigator_state()}
    assert after == before, f"runs launched by opening the UI: {after - before}"
    assert states and set(states.values()) == {"STOPPED"}, states
    automation = ui.page("automation")
    assert "do_invoice_sensor" in automation
    ui.screenshot("automation", "automation_all_stopped.png")


def test_the_deployment_margin_page_shows_the_months_chart(ui):
    page = ui.page("assets/deployment_margin")
    # The latest materialization is the last month's own (the range run's months are logged in order),
    # and its chart is rendered on the page, not behind "[Show Markdown]".
    assert "Revenue vs cost per deployment, 2026-10 (USD)" in page and "[Show Markdown]" not in page
    assert "luxor-infer" in page and "unallocated cost" in page
    partitions = ui.page("assets/deployment_margin?view=partitions")
    assert "2026-01-01" in partitions and "2024-01-01" not in partitions  # BILLING_FIRST_MONTH's default
    ui.screenshot("assets/deployment_margin", "deployment_margin.png")


def graphql(ui: Ui, query: str, variables: dict) -> dict:
    request = urllib.request.Request(ui.base + "graphql", data=json.dumps({"query": query, "variables": variables})
                                     .encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())["data"]


LAUNCH = """mutation($params: ExecutionParams!) { launchPipelineExecution(executionParams: $params) {
  __typename ... on LaunchRunSuccess { run { runId } } ... on RunConfigValidationInvalid { errors { message } }
  ... on PythonError { message } } }"""


def launch(ui: Ui, job: str, op: str, config: dict) -> dict:
    """What the Launchpad's Launch button sends."""
    return graphql(ui, LAUNCH, {"params": {
        "selector": {"repositoryLocationName": "billing_assets", "repositoryName": "__repository__", "jobName": job},
        "runConfigData": {"ops": {op: {"config": config}}}, "mode": "default"}})["launchPipelineExecution"]


def test_one_off_jobs_refuse_bad_requests_in_one_line_and_are_not_retried(ui):
    # A period that is not a month never becomes a run: the config schema refuses it at launch.
    refused = launch(ui, "issue_invoices", "issue_month_drafts", {"period": "2026-13"})
    assert refused["__typename"] == "RunConfigValidationInvalid"
    assert "not in enum type BillingMonth" in refused["errors"][0]["message"]
    # The Launchpad opens on the op's fields and names the missing period; no warehouse settings pre-filled.
    launchpad = ui.page("locations/billing_assets/jobs/issue_invoices/playground")
    assert "issue_month_drafts" in launchpad and 'Missing required config entry "period"' in launchpad
    assert "lock_timeout_s" not in launchpad and "exports_dir" not in launchpad
    ui.screenshot("locations/billing_assets/jobs/issue_invoices/playground", "issue_invoices_launchpad.png")
    # A reversal naming an unknown tenant runs, fails with one line naming the field, and is not retried.
    started = launch(ui, "reverse_usage_event", "record_usage_reversal", {
        "usage_event_id": "18b1552d-c6a3-57c6-b6ca-bd2dd55a444f", "tenant": "acme-typo", "reason": "duplicate",
        "initiated_by_email": "ops@platform.example"})
    assert started["__typename"] == "LaunchRunSuccess", started
    run_id = started["run"]["runId"]
    with ui.instance() as instance:
        deadline = time.time() + 180
        while not (run := instance.get_run_by_id(run_id)).is_finished:
            assert time.time() < deadline, run.status
            time.sleep(2)
        assert run.status == dg.DagsterRunStatus.FAILURE
        assert run.tags["dagster/retry_on_asset_or_op_failure"] == "false"
        failure = next(e for e in instance.all_logs(run_id) if e.dagster_event and e.dagster_event.is_step_failure)
        description = failure.dagster_event.step_failure_data.user_failure_data.description
        assert description == "tenant: no tenant with id or slug 'acme-typo' in the warehouse's snapshot"
        # The daemon's run-retry loop decides on every failed run and says so in its log: wait for that.
        while not any("Not retrying run" in (e.message or "") for e in instance.all_logs(run_id)):
            assert time.time() < deadline, "the daemon never decided about retrying the refused run"
            time.sleep(2)
        assert [r.run_id for r in instance.get_runs(dg.RunsFilter(job_name="reverse_usage_event"))] == [run_id]
    page = ui.page(f"runs/{run_id}")
    assert "tenant: no tenant with id or slug 'acme-typo'" in page and "Join the Dagster community" not in page
    ui.screenshot(f"runs/{run_id}", "refused_reversal.png")
