"""The sample platform: tenants, deployments, a versioned catalogue, subscriptions, resources, usage.

Everything is derived from a seed and fixed calendar anchors, never from the wall clock, so the
same parameters always give byte-identical output. The scenarios the tests and the demo rely on
are named below (PILOT_*, the mid-month upgrade, the cancellation, the trial, the reused droplet
name, the stray droplet), so nobody has to rediscover them in the data.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from billing_assets.periods import Period, month_period, naive

NAMESPACE = uuid.UUID("6f1c2a8e-3b7d-4f0e-9a51-2c4d8e7b9f10")

# The month-end smoke case of DESIGN.md §5 (April 2026).
PILOT_TENANT_SLUG = "acme"
PILOT_DEPLOYMENT_SLUG = "acme-studio"
PILOT_MONTH = "2026-04"

# Scenario anchors (UTC).
UPGRADE_AT = datetime(2026, 5, 16, tzinfo=UTC)        # bondi-api: starter v1 -> studio v1
CANCEL_AT = datetime(2026, 7, 10, 12, tzinfo=UTC)     # kiwi-legacy canceled and deleted
TRIAL_START = datetime(2026, 8, 20, tzinfo=UTC)       # fjord-preview trial
TRIAL_END = datetime(2026, 9, 3, tzinfo=UTC)
MIGRATE_AT = datetime(2026, 7, 1, tzinfo=UTC)         # harbour-portal moves to studio v2
REUSED_NAME = "redwood-web"                           # deleted on REUSE_DELETED, re-created on REUSE_CREATED
REUSE_DELETED = datetime(2026, 3, 10, tzinfo=UTC)
REUSE_CREATED = datetime(2026, 3, 20, tzinfo=UTC)
STRAY_DROPLET = "ops-debug"                           # billed by DigitalOcean, unknown to the platform
EPOCH = datetime(2025, 11, 1, tzinfo=UTC)             # when the sample platform went live


def stable_id(*parts: object) -> str:
    """A UUID derived from business keys, so ids never depend on generation order."""
    return str(uuid.uuid5(NAMESPACE, "/".join(str(p) for p in parts)))


@dataclass(frozen=True)
class WorldParams:
    """`tenants` beyond the ten of the demo are copies of its ten, in order, each with every scenario of
    its original (plan changes, the trial, the cancellation, credits, add-ons, resources): tenant i is
    a copy of demo tenant i % 10 with slugs suffixed `-NNNNN` (i // 10). The first ten are the demo's."""

    seed: int = 20260401
    first_month: str = "2026-01"
    months: int = 10
    events_per_deployment_month: int = 24
    duplicate_rate: float = 0.03
    late_rate: float = 0.02
    tenants: int = 10

    def __post_init__(self) -> None:
        if self.tenants < 1 or self.months < 1 or self.events_per_deployment_month < 1:
            raise ValueError("tenants, months and events_per_deployment_month must each be at least 1")

    @property
    def periods(self) -> list[Period]:
        year, month = (int(x) for x in self.first_month.split("-"))
        out = []
        for _ in range(self.months):
            out.append(month_period(year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    @property
    def as_of(self) -> datetime:
        """When the sample account's documents were exported: the morning after the last month."""
        return self.periods[-1].end + timedelta(hours=6)


@dataclass
class World:
    params: WorldParams
    tables: dict[str, list[dict]] = field(default_factory=dict)
    # DigitalOcean-side facts that are not in the platform's database (stray resources, K8s nodes).
    provider_only_resources: list[dict] = field(default_factory=list)
    kubernetes_nodes: list[dict] = field(default_factory=list)


# --- catalogue -------------------------------------------------------------------------------

_PLANS = {
    # code: [(version, currency, base, minimum, effective_from, effective_to, charges)]
    "starter": [
        (1, "USD", 2000, 0, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC), "starter", "1.2"),
        (2, "USD", 2500, 0, datetime(2026, 6, 1, tzinfo=UTC), None, "starter", "1.25"),
    ],
    "studio": [
        (1, "USD", 5000, 0, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC), "studio", "1"),
        (2, "USD", 5500, 0, datetime(2026, 7, 1, tzinfo=UTC), None, "studio", "1"),
    ],
    "scale": [
        (1, "USD", 20000, 30000, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC), "scale", None),
        (2, "USD", 22000, 30000, datetime(2026, 4, 1, tzinfo=UTC), None, "scale", None),
    ],
    "studio-jp": [
        (1, "JPY", 7500, 0, datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 9, 1, tzinfo=UTC), "studio-jp", "1.5"),
        (2, "JPY", 8000, 0, datetime(2026, 9, 1, tzinfo=UTC), None, "studio-jp", "1.5"),
    ],
}

_ADD_ONS = [
    ("storage_50gb", "Storage 50 GB", "USD", 750),
    ("priority_support", "Priority support", "USD", 4900),
    ("extra_backups", "Extra backups", "USD", 500),
    ("priority_support_jp", "Priority support (JP)", "JPY", 5000),
]


def _charges(family: str, droplet_unit: str | None, version_id: str) -> tuple[list[dict], list[dict]]:
    """Usage charges per plan family; each family shows a different charge model."""
    charges, tiers = [], []

    def charge(metric, model, included, unit=None, package_size=None, package_amount=None):
        charges.append({
            "plan_version_id": version_id, "metric": metric, "charge_model": model,
            "included_quantity": included, "unit_amount_decimal": unit,
            "package_size": package_size, "package_amount_minor": package_amount,
            "included_quantity_prorated": True,
        })

    def tier(metric, index, up_to, unit, flat=0):
        tiers.append({
            "plan_version_id": version_id, "metric": metric, "tier_index": index,
            "up_to": up_to, "unit_amount_decimal": unit, "flat_amount_minor": flat,
        })

    if family == "starter":
        charge("droplet_hours", "per_unit", 744, droplet_unit)
        charge("api_requests", "graduated", 100_000)
        tier("api_requests", 0, 1_000_000, "0.002")
        tier("api_requests", 1, None, "0.001")
        charge("build_minutes", "package", 500, package_size=100, package_amount=50)
    elif family == "studio":
        charge("droplet_hours", "per_unit", 1488, droplet_unit)
        charge("api_requests", "volume", 500_000)
        tier("api_requests", 0, 2_000_000, "0.0015")
        tier("api_requests", 1, None, "0.001")
        charge("build_minutes", "package", 1000, package_size=100, package_amount=40)
    elif family == "scale":
        charge("droplet_hours", "graduated", 5000)
        tier("droplet_hours", 0, 10_000, "0.9")
        tier("droplet_hours", 1, None, "0.7")
        charge("api_requests", "per_unit", 5_000_000, "0.0008")
        charge("build_minutes", "per_unit", 5000, "0.3")
    elif family == "studio-jp":
        charge("droplet_hours", "per_unit", 1488, droplet_unit)
        charge("api_requests", "per_unit", 500_000, "0.2")
    return charges, tiers


# --- tenants and deployments -----------------------------------------------------------------

# slug, name, currency, jurisdiction, segment, internal, deployments:
#   (slug, plan, add_ons[(code, qty)], droplets[(size, count)], extras, traffic)
_TENANTS = [
    ("acme", "Acme Pty Ltd", "USD", "AU", "standard", False, [
        (PILOT_DEPLOYMENT_SLUG, "studio", [("storage_50gb", 1)], [("s-1vcpu-1gb", 3)], [], "low"),
    ]),
    ("bondi-labs", "Bondi Labs", "USD", "AU", "luxor", False, [
        ("bondi-api", "starter", [], [("s-1vcpu-1gb", 2)], ["volume"], "mid"),
        ("bondi-web", "starter", [("extra_backups", 2)], [("s-1vcpu-1gb", 1)], [], "low"),
    ]),
    ("kiwi-co", "Kiwi Co Ltd", "USD", "NZ", "standard", False, [
        ("kiwi-app", "studio", [], [("s-2vcpu-4gb", 1)], [], "mid"),
        ("kiwi-legacy", "starter", [], [("s-1vcpu-1gb", 1)], [], "low"),
    ]),
    ("fjord-analytics", "Fjord Analytics AS", "USD", "EXPORT", "standard", False, [
        ("fjord-etl", "studio", [("priority_support", 1)], [("s-2vcpu-4gb", 2)], ["database"], "high"),
        ("fjord-dash", "starter", [], [("s-1vcpu-1gb", 1)], [], "low"),
        ("fjord-preview", "studio", [], [("s-1vcpu-1gb", 1)], [], "low"),
    ]),
    ("tokyo-works", "Tokyo Works KK", "JPY", "JP", "standard", False, [
        ("tokyo-main", "studio-jp", [("priority_support_jp", 1)], [("s-1vcpu-1gb", 2)], [], "mid"),
        ("tokyo-lab", "studio-jp", [], [("s-1vcpu-1gb", 1)], [], "low"),
    ]),
    ("luxor-ai", "Luxor AI Pty Ltd", "USD", "AU", "luxor", False, [
        ("luxor-train", "scale", [("priority_support", 1)], [("s-4vcpu-8gb", 3)], ["kubernetes"], "high"),
        ("luxor-infer", "scale", [], [("s-2vcpu-4gb", 2)], ["gpu"], "high"),
        ("luxor-edge", "studio", [], [("s-1vcpu-1gb", 2)], ["load_balancer"], "mid"),
    ]),
    ("harbour-health", "Harbour Health", "USD", "AU", "standard", False, [
        ("harbour-portal", "studio", [("storage_50gb", 1)], [("s-2vcpu-4gb", 1)], ["database"], "mid"),
        ("harbour-sync", "starter", [], [("s-1vcpu-1gb", 1)], [], "low"),
    ]),
    ("pennine-retail", "Pennine Retail Ltd", "USD", "GB", "standard", False, [
        ("pennine-store", "studio", [], [("s-2vcpu-4gb", 2)], ["load_balancer", "volume"], "high"),
        ("pennine-admin", "starter", [], [("s-1vcpu-1gb", 1)], [], "low"),
    ]),
    ("redwood-media", "Redwood Media Inc", "USD", "EXPORT", "standard", False, [
        ("redwood-blog", "starter", [], [], [], "low"),
        ("redwood-shop", "studio", [], [("s-1vcpu-1gb", 1)], [], "mid"),
        ("redwood-cdn", "starter", [], [("s-1vcpu-1gb", 1)], ["volume"], "low"),
    ]),
    ("platform-internal", "Platform (internal)", "USD", "AU", "internal", True, [
        ("platform-ops", None, [], [("s-2vcpu-4gb", 1)], [], "none"),
    ]),
]

_TRAFFIC = {  # (api request size upper bound, build minutes upper bound)
    "none": (0, 0), "low": (1500, 25), "mid": (40_000, 90), "high": (400_000, 400),
}

_DB_SIZE, _LB_SIZE, _K8S_NODE_SIZE, _GPU_SIZE = "db-s-1vcpu-1gb", "lb-small", "s-2vcpu-4gb", "gpu-h100x1-80gb"



def build_world(params: WorldParams | None = None) -> World:
    params = params or WorldParams()
    rng = random.Random(params.seed)
    world = World(params=params)
    t = world.tables = {name: [] for name in (
        "tenants", "tenant_budgets", "deployments", "plans", "plan_versions", "plan_version_charges",
        "plan_version_charge_tiers", "add_ons", "subscriptions", "subscription_phases",
        "subscription_add_ons", "credit_grants", "cloud_resources", "usage_events")}

    # Catalogue.
    versions: dict[tuple[str, int], str] = {}
    for code, rows in _PLANS.items():
        plan_id = stable_id("plan", code)
        t["plans"].append({"plan_id": plan_id, "code": code, "name": code.replace("-", " ").title()})
        for version, currency, base, minimum, eff_from, eff_to, family, droplet_unit in rows:
            version_id = stable_id("plan_version", code, version)
            versions[(code, version)] = version_id
            t["plan_versions"].append({
                "plan_version_id": version_id, "plan_id": plan_id, "version": version, "currency": currency,
                "base_fee_minor": base, "minimum_commitment_minor": minimum,
                "monthly_free_credit_minor": 500 if (code, version) == ("studio-jp", 2) else 0,
                "effective_from": naive(eff_from), "effective_to": naive(eff_to),
            })
            charges, tiers = _charges(family, droplet_unit, version_id)
            t["plan_version_charges"].extend(charges)
            t["plan_version_charge_tiers"].extend(tiers)
    add_on_ids = {}
    for code, name, currency, price in _ADD_ONS:
        add_on_ids[code] = stable_id("add_on", code)
        t["add_ons"].append({"add_on_id": add_on_ids[code], "code": code, "name": name,
                             "currency": currency, "price_minor": price})
    add_on_price = {code: price for code, _, _, price in _ADD_ONS}

    world_end = params.periods[-1].end
    for index in range(params.tenants):
        t_index, copy = index % len(_TENANTS), index // len(_TENANTS)
        suffix = f"-{copy:05d}" if copy else ""
        base_slug, name, currency, jurisdiction, segment, internal, deployments = _TENANTS[t_index]
        slug = base_slug + suffix
        tenant_id = stable_id("tenant", slug)
        t["tenants"].append({
            "tenant_id": tenant_id, "slug": slug, "name": name + (f" #{copy}" if copy else ""), "currency": currency,
            "tax_jurisdiction": jurisdiction, "segment": segment, "is_internal": internal,
            "billing_email": f"billing@{slug}.example", "created_at": naive(EPOCH + timedelta(days=t_index)),
        })
        for base, plan, add_ons, droplets, extras, traffic in deployments:
            d_slug = base + suffix
            deployment_id = stable_id("deployment", d_slug)
            created = EPOCH + timedelta(days=t_index, hours=3)
            deleted = None
            if base == "kiwi-legacy":
                deleted = CANCEL_AT
            if base == "fjord-preview":
                created = TRIAL_START
            t["deployments"].append({
                "deployment_id": deployment_id, "tenant_id": tenant_id, "slug": d_slug,
                "state": "deleted" if deleted else "active",
                "created_at": naive(created), "deleted_at": naive(deleted),
            })
            if plan:
                _subscribe(t, versions, add_on_ids, add_on_price, deployment_id, base, suffix, plan, add_ons, created)
            _provision(world, rng, deployment_id, base, suffix, droplets, extras, created, deleted)
            if plan:
                _usage(world, rng, deployment_id, d_slug, traffic, created, deleted, world_end)
        _credit_grants(world, base_slug, suffix)
        _budget(world, base_slug, suffix)

    _provider_only(world)
    _anomalous_events(world)
    for rows in t.values():  # stable order regardless of generation order
        rows.sort(key=lambda r: tuple(str(v) for v in r.values()))
    return world


def _subscribe(t, versions, add_on_ids, add_on_price, deployment_id, base, suffix, plan, add_ons, created):
    """`base`: the demo deployment this one copies (its scenario); `suffix`: the copy's (empty for the demo's)."""
    slug = base + suffix
    subscription_id = stable_id("subscription", slug)
    phases = [(versions[(plan, 1)], created, None)]
    status, trial_end, canceled = "active", None, None
    if base == "bondi-api":
        phases = [(versions[("starter", 1)], created, UPGRADE_AT), (versions[("studio", 1)], UPGRADE_AT, None)]
    elif base == "harbour-portal":
        phases = [(versions[("studio", 1)], created, MIGRATE_AT), (versions[("studio", 2)], MIGRATE_AT, None)]
    elif base == "kiwi-legacy":
        status, canceled = "canceled", CANCEL_AT
        phases = [(versions[("starter", 1)], created, CANCEL_AT)]
    elif base == "fjord-preview":
        trial_end = TRIAL_END
        phases = [(versions[("studio", 2)], created, None)]
    t["subscriptions"].append({
        "subscription_id": subscription_id, "deployment_id": deployment_id,
        "plan_version_id": phases[-1][0], "status": status, "started_at": naive(created),
        "trial_ends_at": naive(trial_end), "canceled_at": naive(canceled),
    })
    for version_id, start, end in phases:
        t["subscription_phases"].append({
            "subscription_id": subscription_id, "plan_version_id": version_id,
            "effective_from": naive(start), "effective_to": naive(end),
        })
    for code, qty in add_ons:
        t["subscription_add_ons"].append({
            "subscription_add_on_id": stable_id("subscription_add_on", slug, code),
            "subscription_id": subscription_id, "add_on_id": add_on_ids[code],
            "unit_price_minor": add_on_price[code], "quantity": qty,
            "attached_at": naive(created), "detached_at": naive(canceled),
        })


def _resource(world, deployment_id, kind, name, size, region, created, deleted, numeric_id=None):
    row = {
        "resource_id": stable_id("resource", kind, name, created.isoformat()),
        "deployment_id": deployment_id, "provider": "digitalocean", "kind": kind,
        "provider_resource_id": numeric_id, "provider_uuid": stable_id("do", kind, name, created.isoformat()),
        "name": name, "size_slug": size, "region": region,
        "created_at": naive(created), "deleted_at": naive(deleted),
    }
    world.tables["cloud_resources"].append(row)
    return row


def _droplet_id(name: str, created: datetime) -> str:
    return str(300_000_000 + int(uuid.uuid5(NAMESPACE, f"{name}/{created.isoformat()}").int % 90_000_000))


def _provision(world, rng, deployment_id, base, suffix, droplets, extras, created, deleted):
    slug = base + suffix
    region = "syd1" if not slug.startswith(("pennine", "fjord")) else "lon1"
    reused = REUSED_NAME + suffix
    index = 0
    for size, count in droplets:
        for _ in range(count):
            index += 1
            name = f"{slug}-web-{index}"
            d_created, d_deleted = created, deleted
            # A replaced droplet mid-life: deleted on day 12 of some month, a successor created the same day.
            if base in ("bondi-api", "pennine-store") and index == 1:
                d_deleted = datetime(2026, 4 if base == "bondi-api" else 8, 12, 9, 30, tzinfo=UTC)
                _resource(world, deployment_id, "droplet", f"{slug}-web-{index}b", size, region,
                          d_deleted, deleted, _droplet_id(f"{slug}-web-{index}b", d_deleted))
            _resource(world, deployment_id, "droplet", name, size, region, d_created, d_deleted,
                      _droplet_id(name, d_created))
    if base == "redwood-blog":  # the reused name: this droplet dies, redwood-shop's is born later
        _resource(world, deployment_id, "droplet", reused, "s-1vcpu-1gb", region, created, REUSE_DELETED,
                  _droplet_id(reused, created))
    if base == "redwood-shop":
        _resource(world, deployment_id, "droplet", reused, "s-1vcpu-1gb", region, REUSE_CREATED, None,
                  _droplet_id(reused, REUSE_CREATED))
    for extra in extras:
        if extra == "volume":
            _resource(world, deployment_id, "volume", f"{slug}-data", "100gb", region, created, deleted)
        elif extra == "database":
            _resource(world, deployment_id, "database", f"{slug}-db", _DB_SIZE, region, created, deleted)
        elif extra == "load_balancer":
            _resource(world, deployment_id, "load_balancer", f"{slug}-lb", _LB_SIZE, region, created, deleted)
        elif extra == "gpu":
            gpu_created = datetime(2026, 6, 5, 14, tzinfo=UTC)
            _resource(world, deployment_id, "droplet", f"{slug}-gpu-1", _GPU_SIZE, "tor1", gpu_created, None,
                      _droplet_id(f"{slug}-gpu-1", gpu_created))
        elif extra == "kubernetes":
            cluster = _resource(world, deployment_id, "kubernetes_cluster", f"{slug}-k8s", "s-2vcpu-4gb x2",
                                region, created, deleted)
            for node in range(2):
                node_name = f"{slug}-k8s-pool-{node}"
                world.kubernetes_nodes.append({
                    "cluster_uuid": cluster["provider_uuid"], "cluster_name": cluster["name"],
                    "name": node_name, "droplet_id": _droplet_id(node_name, created), "size_slug": _K8S_NODE_SIZE,
                    "created_at": created, "deleted_at": deleted, "region": region,
                })


# tenant slug, kind, amount (minor units), currency, effective_from, expires_at, deployment scope, reason
CREDIT_GRANTS = [
    ("harbour-health", "free_monthly", 1000, "USD", datetime(2026, 1, 1, tzinfo=UTC), None, None,
     "Monthly free credit (annual contract)"),
    ("harbour-health", "promotional", 2500, "USD", datetime(2026, 1, 1, tzinfo=UTC),
     datetime(2026, 7, 1, tzinfo=UTC), "harbour-sync", "Welcome credit for the sync deployment"),
    ("tokyo-works", "promotional", 3000, "JPY", datetime(2026, 3, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
     None, "Launch promotion"),
    ("fjord-analytics", "promotional", 50000, "USD", datetime(2026, 8, 1, tzinfo=UTC),
     datetime(2026, 10, 1, tzinfo=UTC), None, "Outage compensation (expires unused in part)"),
]


# Monthly budgets (tenant currency, tax included) some tenants set: luxor-ai runs close to its budget,
# fjord-analytics' trial ended and its first full month is well over it, tokyo-works has room.
BUDGETS = {"luxor-ai": (80_000, "USD"), "fjord-analytics": (20_000, "USD"), "tokyo-works": (30_000, "JPY")}


def _budget(world: World, tenant_slug: str, suffix: str) -> None:
    if tenant_slug in BUDGETS:
        amount, currency = BUDGETS[tenant_slug]
        world.tables["tenant_budgets"].append({
            "tenant_id": stable_id("tenant", tenant_slug + suffix), "amount_minor": amount, "currency": currency,
            "updated_at": naive(EPOCH)})


def _credit_grants(world: World, tenant_slug: str, suffix: str) -> None:
    for base, kind, amount, currency, start, expires, scope, reason in CREDIT_GRANTS:
        if base != tenant_slug:
            continue
        slug, scope = base + suffix, scope + suffix if scope else None
        world.tables["credit_grants"].append({
            "credit_grant_id": stable_id("credit_grant", slug, kind, start.isoformat()),
            "tenant_id": stable_id("tenant", slug), "kind": kind, "amount_minor": amount, "currency": currency,
            "effective_from": naive(start), "expires_at": naive(expires),
            "deployment_id": stable_id("deployment", scope) if scope else None, "reason": reason,
            "granted_by": "finance@platform.example",
        })


def _provider_only(world: World) -> None:
    """A droplet an operator created by hand and deleted before any inventory saw it."""
    created, deleted = datetime(2026, 3, 3, 10, tzinfo=UTC), datetime(2026, 3, 9, 16, 45, tzinfo=UTC)
    world.provider_only_resources.append({
        "kind": "droplet", "name": STRAY_DROPLET, "size_slug": "s-2vcpu-4gb", "region": "syd1",
        "provider_resource_id": _droplet_id(STRAY_DROPLET, created), "provider_uuid": None,
        "created_at": created, "deleted_at": deleted,
    })


def _usage(world, rng, deployment_id, slug, traffic, created, deleted, world_end):
    api_max, build_max = _TRAFFIC[traffic]
    if not api_max:
        return
    events = world.tables["usage_events"]
    for period in world.params.periods:
        active = period.clip(created, deleted)
        if active is None:
            continue
        for metric, upper, share in (("api_requests", api_max, 1.0), ("build_minutes", build_max, 0.4)):
            count = max(1, int(world.params.events_per_deployment_month * share))
            for n in range(count):
                occurred = active.start + timedelta(seconds=rng.randrange(active.seconds))
                received = occurred + timedelta(seconds=rng.randrange(1, 900))
                if rng.random() < world.params.late_rate:
                    received = period.end + timedelta(days=rng.randint(2, 9), seconds=rng.randrange(86_400))
                if received >= world_end + timedelta(hours=6):
                    received = world_end + timedelta(hours=5)
                key = f"{slug}:{metric}:{period.start:%Y%m}:{n}"
                quantity = rng.randint(1, upper)
                _event(events, deployment_id, metric, quantity, key, occurred, received, 0)
                if rng.random() < world.params.duplicate_rate:  # a client retry with a fresh event id
                    retry_at = min(received + timedelta(hours=rng.randint(1, 96)), world_end + timedelta(hours=5))
                    _event(events, deployment_id, metric, quantity, key, occurred, retry_at, 1)


def _event(events, deployment_id, metric, quantity, key, occurred, received, attempt):
    events.append({
        "event_id": stable_id("event", key, attempt), "idempotency_key": key,
        "deployment_id": deployment_id, "metric": metric, "quantity": quantity,
        "occurred_at": naive(occurred), "received_at": naive(received),
    })


def _anomalous_events(world: World) -> None:
    """Events the checks must list rather than drop: an unknown deployment and an unknown metric."""
    at = datetime(2026, 6, 14, 8, tzinfo=UTC)
    pilot = stable_id("deployment", PILOT_DEPLOYMENT_SLUG)
    _event(world.tables["usage_events"], stable_id("deployment", "ghost"), "api_requests", 10,
           "ghost:api_requests:1", at, at + timedelta(seconds=3), 0)
    _event(world.tables["usage_events"], pilot, "gpu_secs", 5, "acme-studio:gpu_secs:1", at,
           at + timedelta(seconds=3), 0)
