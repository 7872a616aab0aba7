"""A tiny platform for boundary scenarios: one tenant (AU, GST 10%) with one deployment, built row by
row in a real SQLite source, closed month by month through Dagster's materialize (source snapshot,
metering, invoicing) into a real DuckDB warehouse. Nothing here computes money: expected figures are
worked out by hand in each scenario."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from billing_assets.sample_world.writer import create_source_schema
from tests.conftest import Env, make_resources

SNAPSHOT = ["source_tenants", "source_deployments", "source_plan_catalogue", "source_subscriptions",
            "source_cloud_resources", "source_usage_events"]
CLOSE = [*SNAPSHOT, "metered_usage", "tenant_invoices", "tenant_invoice_lines"]
T0 = "2025-01-01 00:00:00"
TENANT, DEPLOYMENT = "t-1", "d-1"


@dataclass
class Plan:
    """A plan version with usage charges; `charges` rows are (metric, model, included, unit, tiers, ...)."""

    version_id: str
    base_fee: int
    charges: list[dict] = field(default_factory=list)
    minimum: int = 0
    currency: str = "USD"


@dataclass
class ScenarioWorld:
    root: Path
    currency: str = "USD"
    jurisdiction: str = "AU"
    env: Env = field(init=False)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.url = f"sqlite:///{self.root / 'source.sqlite'}"
        self.engine = sa.create_engine(self.url)
        create_source_schema(self.engine)
        self.insert("tenants", tenant_id=TENANT, slug="solo", name="Solo Pty Ltd", currency=self.currency,
                    tax_jurisdiction=self.jurisdiction, segment="standard", is_internal=False,
                    billing_email="ap@solo.test", created_at=T0)
        self.insert("deployments", deployment_id=DEPLOYMENT, tenant_id=TENANT, slug="solo-app", state="active",
                    created_at=T0, deleted_at=None)
        self.env = Env(self.root, make_resources(self.root))

    def insert(self, table: str, **row) -> None:
        columns = ", ".join(row)
        with self.engine.begin() as conn:
            conn.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({', '.join(':' + c for c in row)})"),
                         row)

    def plan(self, plan: Plan) -> Plan:
        self.insert("plans", plan_id=f"p-{plan.version_id}", code=plan.version_id, name=plan.version_id)
        self.insert("plan_versions", plan_version_id=plan.version_id, plan_id=f"p-{plan.version_id}", version=1,
                    currency=plan.currency, base_fee_minor=plan.base_fee, minimum_commitment_minor=plan.minimum,
                    monthly_free_credit_minor=0, effective_from=T0, effective_to=None)
        for charge in plan.charges:
            tiers = charge.pop("tiers", [])
            self.insert("plan_version_charges", plan_version_id=plan.version_id, **{
                "included_quantity": 0, "unit_amount_decimal": None, "package_size": None,
                "package_amount_minor": None, "included_quantity_prorated": True, **charge})
            for index, (up_to, unit) in enumerate(tiers):
                self.insert("plan_version_charge_tiers", plan_version_id=plan.version_id, metric=charge["metric"],
                            tier_index=index, up_to=up_to, unit_amount_decimal=unit, flat_amount_minor=0)
        return plan

    def subscribe(self, sub_id: str, phases: list[tuple[str, str, str | None]], started: str | None = None,
                  trial_ends: str | None = None, canceled: str | None = None) -> None:
        """phases: (plan version id, effective_from, effective_to)."""
        self.insert("subscriptions", subscription_id=sub_id, deployment_id=DEPLOYMENT,
                    plan_version_id=phases[-1][0], status="canceled" if canceled else "active",
                    started_at=started or phases[0][1], trial_ends_at=trial_ends, canceled_at=canceled)
        for version, start, end in phases:
            self.insert("subscription_phases", subscription_id=sub_id, plan_version_id=version,
                        effective_from=start, effective_to=end)

    def event(self, metric: str, quantity: int, occurred: str, received: str | None = None,
              key: str | None = None) -> str:
        event_id = f"e-{next(self._ids)}"
        self.insert("usage_events", event_id=event_id, idempotency_key=key or event_id, deployment_id=DEPLOYMENT,
                    metric=metric, quantity=quantity, occurred_at=occurred, received_at=received or occurred)
        return event_id

    def resource(self, resource_id: str, kind: str, created: str, deleted: str | None = None) -> None:
        self.insert("cloud_resources", resource_id=resource_id, deployment_id=DEPLOYMENT, provider="digitalocean",
                    kind=kind, provider_resource_id=None, provider_uuid=None, name=resource_id, size_slug=None,
                    region="syd1", created_at=created, deleted_at=deleted)

    def grant(self, grant_id: str, amount: int, effective_from: str, expires_at: str | None = None) -> None:
        self.insert("credit_grants", credit_grant_id=grant_id, tenant_id=TENANT, kind="promotional",
                    amount_minor=amount, currency=self.currency, effective_from=effective_from, expires_at=expires_at,
                    deployment_id=None, reason="goodwill", granted_by="finance@platform.test")

    # --- closing months --------------------------------------------------------------------------

    def close(self, month: str, grace_hours: int = 3) -> dg.ExecuteInProcessResult:
        config = {"ops": {"metered_usage": {"config": {"late_usage_grace_hours": grace_hours}}}}
        return self.env.materialize(CLOSE, partition_key=f"{month}-01", run_config=config)

    def issue(self, month: str) -> None:
        job = self.env.defs.resolve_job_def("issue_invoices")
        assert job.execute_in_process(run_config={"ops": {"issue_month_drafts": {"config": {"period": month}}}}).success

    def documents(self, month: str) -> list[tuple]:
        """(number, type, status, subtotal, tax, total) of the month's documents."""
        with self.env.connect() as conn:
            return conn.execute(
                "SELECT invoice_number, document_type, status, subtotal_minor, tax_minor, total_minor "
                "FROM revenue.tenant_invoices WHERE period_start = ? ORDER BY correction_seq",
                [f"{month}-01"]).fetchall()

    def lines(self, month: str, kinds: tuple[str, ...] | None = None) -> list[tuple]:
        """(kind, plan version, quantity, unit amount, amount) of the month's invoice lines, in order."""
        with self.env.connect() as conn:
            rows = conn.execute(
                "SELECT l.kind, l.plan_version_id, l.quantity, l.unit_amount_minor, l.amount_minor "
                "FROM revenue.tenant_invoice_lines l JOIN revenue.tenant_invoices i USING (invoice_id) "
                "WHERE i.period_start = ? ORDER BY i.correction_seq, l.line_number", [f"{month}-01"]).fetchall()
        return [(k, v, _number(q), None if u is None else _number(u), a) for k, v, q, u, a in rows
                if kinds is None or k in kinds]

    def total(self, month: str) -> int:
        return sum(d[5] for d in self.documents(month))

    def unbilled(self, month: str) -> list[tuple]:
        """(reason, metric, quantity) of usage the month's run found outside every billable window."""
        with self.env.connect() as conn:
            return conn.execute(
                "SELECT reason, metric, sum(quantity) FROM revenue.unbilled_usage WHERE billing_period_start = ? "
                "GROUP BY ALL ORDER BY ALL", [f"{month}-01"]).fetchall()

    def snapshot(self, month: str) -> list[tuple]:
        """The month's documents and lines as stored (for byte-identical comparisons), wall clock aside."""
        with self.env.connect() as conn:
            docs = conn.execute("SELECT * EXCLUDE (computed_at, issued_at) FROM revenue.tenant_invoices "
                                "WHERE period_start = ? ORDER BY invoice_id", [f"{month}-01"]).fetchall()
            lines = conn.execute("SELECT l.* FROM revenue.tenant_invoice_lines l JOIN revenue.tenant_invoices i "
                                 "USING (invoice_id) WHERE i.period_start = ? ORDER BY invoice_id, line_number",
                                 [f"{month}-01"]).fetchall()
        return docs + lines


def _number(value):
    """Decimals from the warehouse as the int or normalized Decimal a person would write."""
    value = value.normalize()
    return int(value) if value == value.to_integral_value() else value


def exact(value):
    """A quantity as written in a scenario: 0.3 or "0.366667" mean that exact decimal."""
    from decimal import Decimal

    return Decimal(str(value)) if isinstance(value, float | str) else value
