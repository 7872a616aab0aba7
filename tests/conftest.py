"""Shared fixtures: a sample world in a temporary directory, real DuckDB, SQLite and PostgreSQL.

PostgreSQL comes from the pgserver wheel, started once per session: nothing to install, never
skipped. Nothing here is mocked.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import dagster as dg
import pytest

# Keep the developer's own .billing untouched by anything that reads the environment.
os.environ["BILLING_HOME"] = str(Path(os.environ.get("PYTEST_TMPDIR", "/tmp")) / f"billing-tests-{os.getpid()}")
for name in ("BILLING_WAREHOUSE_PATH", "BILLING_SOURCE_URL", "BILLING_DO_EXPORT_DIR", "DIGITALOCEAN_TOKEN",
             "STRIPE_API_KEY", "BILLING_FX_RATES_CSV"):
    os.environ.pop(name, None)
# Partitions from 2024-01 (the default starts at the sample world's 2026-01): tests reach a month before the
# sample world (DigitalOcean's "no usage") and a 24-month backfill. The default has its own test.
os.environ["BILLING_FIRST_MONTH"] = "2024-01"
warnings.filterwarnings("ignore", category=dg.BetaWarning)

from billing_assets.books.resources import FinanceResource  # noqa: E402
from billing_assets.definitions import build_definitions  # noqa: E402
from billing_assets.ingest.resources import DigitalOceanResource  # noqa: E402
from billing_assets.revenue.payments.resources import StripeResource  # noqa: E402
from billing_assets.sample_world import build_world, write_export_folder  # noqa: E402
from billing_assets.sample_world.writer import load_source  # noqa: E402
from billing_assets.source.resources import SourceDatabaseResource  # noqa: E402
from billing_assets.warehouse.resource import WarehouseResource  # noqa: E402
from tests.fakes.finance_service import FakeFinanceService  # noqa: E402
from tests.fakes.stripe import FakeStripe  # noqa: E402
from tests.fakes.xero import FakeXero  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def world():
    return build_world()


@pytest.fixture(scope="session")
def world_template(tmp_path_factory, world) -> Path:
    """The sample world written once; tests copy it so each gets its own files."""
    root = tmp_path_factory.mktemp("world-template")
    load_source(f"sqlite:///{root / 'source.sqlite'}", world)
    write_export_folder(root / "digitalocean", world)
    return root


@dataclass
class Env:
    root: Path
    resources: dict

    @property
    def warehouse_path(self) -> Path:
        return Path(self.resources["warehouse"].path)

    @property
    def defs(self) -> dg.Definitions:
        return build_definitions(self.resources)

    def materialize(self, selection: list[str], partition_key: str | None = None, run_config=None,
                    instance=None, raise_on_error: bool = True, tags: dict[str, str] | None = None):
        return dg.materialize(
            list(self.defs.assets), selection=selection, partition_key=partition_key, resources=self.resources,
            run_config=run_config, instance=instance, raise_on_error=raise_on_error, tags=tags)

    def month_close(self, first: str, last: str, instance=None, raise_on_error: bool = True, run_config=None):
        job = self.defs.resolve_job_def("month_close")
        return job.execute_in_process(
            instance=instance or dg.DagsterInstance.ephemeral(), raise_on_error=raise_on_error,
            run_config=run_config,
            tags={"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last})

    def connect(self):
        import duckdb

        return duckdb.connect(str(self.warehouse_path), read_only=True)


def make_resources(root: Path, source_url: str | None = None, **digitalocean) -> dict:
    return {
        "warehouse": WarehouseResource(path=str(root / "warehouse.duckdb"), exports_dir=str(root / "exports"),
                                       lock_timeout_s=5),
        "source_db": SourceDatabaseResource(url=source_url or f"sqlite:///{root / 'source.sqlite'}"),
        "digitalocean": DigitalOceanResource(export_dir=str(root / "digitalocean"), **digitalocean),
        "stripe": StripeResource(),
        "finance": FinanceResource(),  # BILLING_FINANCE_TARGET's default: none
    }


def copy_world(world_template: Path, root: Path) -> Env:
    """The sample world's source database and export folder copied into `root`, with resources on them."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(world_template / "source.sqlite", root / "source.sqlite")
    shutil.copytree(world_template / "digitalocean", root / "digitalocean")
    return Env(root, make_resources(root))


def close_sample_year(env: Env) -> Env:
    """The demo's flow on the sample world: close every month as one run, issue each month, close again
    (issued invoices stay; the marts and reports then show issued revenue). The second run's result
    and its instance are kept on the Env (`last_result`, `instance`)."""
    from billing_assets.sample_world import WorldParams

    periods = WorldParams().periods
    first, last = (f"{p.start:%Y-%m-%d}" for p in (periods[0], periods[-1]))
    assert env.month_close(first, last).success
    issue = env.defs.resolve_job_def("issue_invoices")
    for period in periods:
        assert issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {
            "period": period.label}}}}).success
    env.instance = dg.DagsterInstance.ephemeral()
    env.last_result = env.month_close(first, last, instance=env.instance)
    assert env.last_result.success
    return env


FINANCE_SECRET = "finance-shared-secret-for-the-tests"  # 32+ bytes, as HS256 wants


@contextlib.contextmanager
def serve_locally(handler, pattern: str) -> Iterator[str]:
    """`handler` answering every request whose path matches `pattern`, on its own port; yields the base URL."""
    from pytest_httpserver import HTTPServer

    server = HTTPServer()
    server.start()
    server.expect_request(re.compile(pattern)).respond_with_handler(handler)
    try:
        yield server.url_for("/").rstrip("/")
    finally:
        server.clear()
        server.stop()


@contextlib.contextmanager
def serve_finance() -> Iterator[FakeFinanceService]:
    """A local finance service (tests/fakes/finance_service.py) on its own port; `.base` is its URL."""
    fake = FakeFinanceService(FINANCE_SECRET)
    with serve_locally(fake, r"^/api/.*") as fake.base:
        yield fake


def finance_for(fake: FakeFinanceService, secret: str = FINANCE_SECRET) -> FinanceResource:
    return FinanceResource(target="finance-service", url=fake.base, jwt_secret=secret, timeout_s=1, max_retries=3,
                           backoff_s=0)


XERO_CLIENT = ("local-xero-client", "local-xero-client-secret")
# The sample world's jurisdictions as an Australian organisation's Xero books them: AU (GST on income)
# and EXPORT (GST-free exports) by default; custom tax rates set up for NZ's GST, the UK's VAT and
# Japan's JCT, which the platform also charges.
XERO_TAX_TYPES = "NZ=TAX001,GB=TAX002,JP=TAX003"
XERO_RATES = {"TAX001": Decimal("0.15"), "TAX002": Decimal("0.20"), "TAX003": Decimal("0.10")}


@contextlib.contextmanager
def serve_xero(**options) -> Iterator[FakeXero]:
    """A local Xero (tests/fakes/xero.py) on its own port; `.api` and `.token_url` are its URLs."""
    fake = FakeXero(*XERO_CLIENT, tax_rates=XERO_RATES, **options)
    with serve_locally(fake, r"^/.*") as base:
        fake.api, fake.token_url = f"{base}/api.xro/2.0", f"{base}/connect/token"
        yield fake


def xero_for(fake: FakeXero, **overrides) -> FinanceResource:
    settings = {"target": "xero", "xero_client_id": XERO_CLIENT[0], "xero_client_secret": XERO_CLIENT[1],
                "xero_api_url": fake.api, "xero_token_url": fake.token_url, "xero_tax_types": XERO_TAX_TYPES,
                "xero_calls_per_minute": 10_000, "timeout_s": 1, "max_retries": 3, "backoff_s": 0, **overrides}
    return FinanceResource(**settings)


@pytest.fixture(scope="session")
def year_finance():
    with serve_finance() as fake:
        yield fake


@pytest.fixture(scope="session")
def closed_year(tmp_path_factory, world_template, year_finance) -> Env:
    """The sample year as the demo leaves it (closed, issued, closed again), with the books pushed to
    `year_finance`. Built once per worker and shared, read-only, by the margin, reports and books tests."""
    env = copy_world(world_template, tmp_path_factory.mktemp("closed-year"))
    env.resources["finance"] = finance_for(year_finance)
    return close_sample_year(env)


@pytest.fixture
def env(tmp_path, world_template) -> Env:
    return copy_world(world_template, tmp_path)


@pytest.fixture(scope="session")
def april_closed_template(tmp_path_factory, world_template) -> Path:
    """The sample world with April 2026 closed once (default config), copied by `april_closed`."""
    env = copy_world(world_template, tmp_path_factory.mktemp("april-closed"))
    assert env.month_close("2026-04-01", "2026-04-01").success
    return env.root


@pytest.fixture
def april_closed(tmp_path, april_closed_template) -> Env:
    """A fresh copy of the world with April closed (drafts, cost lines, marts, exports), for tests that
    start there: one month close per session instead of one per test."""
    shutil.copytree(april_closed_template, tmp_path, dirs_exist_ok=True)
    return Env(tmp_path, make_resources(tmp_path))


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    import pgserver

    server = pgserver.get_server(str(tmp_path_factory.mktemp("pg")), cleanup_mode="stop")
    yield server
    server.cleanup()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty PostgreSQL database (SQLAlchemy URL with the psycopg2 driver)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_server.psql(f"CREATE DATABASE {name};")
    base = pg_server.get_uri()  # postgresql://postgres:@/postgres?host=...
    return base.replace("postgresql://", "postgresql+psycopg2://", 1).replace("/postgres?", f"/{name}?", 1)


@pytest.fixture(scope="session")
def do_documents(world):
    from billing_assets.sample_world.do_account import account_documents

    return account_documents(world)


@pytest.fixture
def do_api(httpserver, do_documents):
    """The fake DigitalOcean API on a local port, pages capped at 15 items to force pagination."""
    import re

    from tests.fakes.digitalocean import TOKEN, FakeDigitalOcean

    fake = FakeDigitalOcean(do_documents, TOKEN, max_page_size=15)
    httpserver.expect_request(re.compile(r"^/.*")).respond_with_handler(fake)
    fake.base_url = httpserver.url_for("/")
    return fake


STRIPE_KEY = "sk_test_" + "local-server-only"


@pytest.fixture
def fake_stripe(httpserver):
    """A local server speaking Stripe's wire format (tests/fakes/stripe.py)."""
    fake = FakeStripe(STRIPE_KEY)
    httpserver.expect_request(re.compile(r"^/v1/.*")).respond_with_handler(fake)
    fake.base = httpserver.url_for("/").rstrip("/")
    return fake


@pytest.fixture
def issued(april_closed, fake_stripe) -> Env:
    """April closed and issued, with Stripe configured against the local server."""
    stripe = StripeResource(api_key=STRIPE_KEY, api_base=fake_stripe.base, timeout_s=1, max_network_retries=3)
    closed = Env(april_closed.root, {**april_closed.resources, "stripe": stripe})
    issue = closed.defs.resolve_job_def("issue_invoices")
    assert issue.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": "2026-04"}}}}).success
    return closed


@pytest.fixture
def operator_home(tmp_path, world_template):
    """A data directory and DAGSTER_HOME as a new operator would have them (shipped dagster.yaml)."""
    home, dagster_home = tmp_path / "billing", tmp_path / "dagster_home"
    copy_world(world_template, home)
    dagster_home.mkdir()
    shutil.copy(ROOT / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "BILLING_HOME": str(home), "DAGSTER_HOME": str(dagster_home),
           "BILLING_AUTOMATION_DEFAULT": "stopped"}
    return home, dagster_home, env
