"""Matching DigitalOcean cost lines to the platform's resources, and allocating shared cost. Pure.

Rules, in order (the first that decides wins):
  (a) id: the JSON item's resource_uuid / resource_id equals a platform resource's provider_uuid /
      provider_resource_id; a Kubernetes node droplet's id resolves to its cluster.
  (b) name: the product's kind plus the name parsed from the line (droplets `name (size)`, volumes
      `name (region) NGB`, load balancers `name (size)`, Kubernetes clusters and databases by
      group_description), case-insensitive, among resources of that kind alive during the line's
      period; a name reused after its resource was deleted matches the one alive then.
  (c) unmatched, with the reason: provider tax, account-level charge, unknown or ambiguous resource.
Every line ends in exactly one bucket: a deployment, or `unallocated`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class MatchMethod(StrEnum):
    """How a cost line found its resource (the order they are tried in); NONE means unallocated."""

    RESOURCE_UUID = "resource_uuid"
    RESOURCE_ID = "resource_id"
    KUBERNETES_NODE = "kubernetes_node"
    NAME = "name"
    NONE = "none"


class UnallocatedReason(StrEnum):
    """Why a cost line belongs to no deployment."""

    PROVIDER_TAX = "provider_tax"
    ACCOUNT_LEVEL = "account_level"
    UNKNOWN_RESOURCE = "unknown_resource"
    AMBIGUOUS_NAME = "ambiguous_name"


SHARED_REASONS = (UnallocatedReason.ACCOUNT_LEVEL, UnallocatedReason.PROVIDER_TAX)  # what an allocation may
# spread; spend on an unknown or ambiguous resource never is

# Product -> resource kind; the single source of truth, also used for FOCUS ServiceCategory.
PRODUCT_KINDS: dict[str, str] = {
    "Droplets": "droplet", "Volumes": "volume", "Kubernetes Clusters": "kubernetes_cluster",
    "Database Clusters": "database", "Load Balancers": "load_balancer", "Spaces Subscription": "spaces",
    "Floating IPs": "floating_ip", "Reserved IPs": "floating_ip", "App Platform": "app", "Snapshots": "snapshot",
    "Backups": "backup", "Taxes": "tax",
}
ACCOUNT_LEVEL_KINDS = {"spaces"}  # billed to the account, not to a resource


def product_kind(product: str) -> str:
    return PRODUCT_KINDS.get(product, "other")


@dataclass(frozen=True)
class Resource:
    resource_id: str
    deployment_id: str
    tenant_id: str
    kind: str
    name: str
    provider_resource_id: str | None
    provider_uuid: str | None
    created_at: datetime
    deleted_at: datetime | None


@dataclass(frozen=True)
class Line:
    invoice_uuid: str
    line_number: int
    product: str
    group_description: str
    description: str
    start_at: datetime
    end_at: datetime
    amount_minor: int
    is_tax: bool
    resource_id: str | None = None
    resource_uuid: str | None = None


@dataclass(frozen=True)
class Match:
    invoice_uuid: str
    line_number: int
    kind: str
    method: MatchMethod
    resource_id: str | None = None
    deployment_id: str | None = None
    tenant_id: str | None = None
    unallocated_reason: UnallocatedReason | None = None


def parsed_name(line: Line, kind: str) -> str | None:
    if kind in ("kubernetes_cluster", "database"):
        return line.group_description or None
    if kind in ("droplet", "volume", "load_balancer"):
        name = line.description.split(" (", 1)[0].strip()
        return name or None
    return None


def _overlap(resource: Resource, start: datetime, end: datetime) -> float:
    lo = max(resource.created_at, start)
    hi = min(resource.deleted_at or end, end)
    return max(0.0, (hi - lo).total_seconds())


def match_line(line: Line, by_uuid: dict[str, Resource], by_numeric_id: dict[str, Resource],
               node_clusters: dict[str, str], by_kind_name: dict[tuple[str, str], list[Resource]]) -> Match:
    kind = "tax" if line.is_tax else product_kind(line.product)
    base = {"invoice_uuid": line.invoice_uuid, "line_number": line.line_number, "kind": kind}

    def hit(resource: Resource, method: MatchMethod) -> Match:
        return Match(**base, method=method, resource_id=resource.resource_id,
                     deployment_id=resource.deployment_id, tenant_id=resource.tenant_id)

    if kind == "tax":
        return Match(**base, method=MatchMethod.NONE, unallocated_reason=UnallocatedReason.PROVIDER_TAX)
    if kind in ACCOUNT_LEVEL_KINDS:
        return Match(**base, method=MatchMethod.NONE, unallocated_reason=UnallocatedReason.ACCOUNT_LEVEL)
    if line.resource_uuid and line.resource_uuid in by_uuid:
        return hit(by_uuid[line.resource_uuid], MatchMethod.RESOURCE_UUID)
    if line.resource_id:
        if line.resource_id in by_numeric_id:
            return hit(by_numeric_id[line.resource_id], MatchMethod.RESOURCE_ID)
        cluster = node_clusters.get(line.resource_id)
        if cluster and cluster in by_uuid:
            return hit(by_uuid[cluster], MatchMethod.KUBERNETES_NODE)
    name = parsed_name(line, kind)
    if name:
        candidates = [(r, _overlap(r, line.start_at, line.end_at))
                      for r in by_kind_name.get((kind, name.lower()), [])]
        alive = sorted((c for c in candidates if c[1] > 0), key=lambda c: -c[1])
        if alive and (len(alive) == 1 or alive[0][1] > alive[1][1]):
            return hit(alive[0][0], MatchMethod.NAME)
        if len(alive) > 1:
            return Match(**base, method=MatchMethod.NONE, unallocated_reason=UnallocatedReason.AMBIGUOUS_NAME)
    return Match(**base, method=MatchMethod.NONE, unallocated_reason=UnallocatedReason.UNKNOWN_RESOURCE)


def matcher(resources: list[Resource], node_clusters: dict[str, str]) -> Callable[[Line], Match]:
    """The resource indexes built once, and a function that matches one line against them (a month's
    lines can then be matched a batch at a time). `node_clusters` maps a Kubernetes node droplet id to
    its cluster uuid."""
    by_uuid = {r.provider_uuid: r for r in resources if r.provider_uuid}
    by_numeric_id = {r.provider_resource_id: r for r in resources if r.provider_resource_id}
    by_kind_name: dict[tuple[str, str], list[Resource]] = {}
    for r in resources:
        by_kind_name.setdefault((r.kind, r.name.lower()), []).append(r)
    return lambda line: match_line(line, by_uuid, by_numeric_id, node_clusters, by_kind_name)



def allocate(amount: int, weights: dict[str, int]) -> dict[str, int]:
    """Split integer cents over keys in proportion to weights, largest remainder first, so the
    parts always sum to `amount` exactly. Ties break on the key, so the result is deterministic."""
    total = sum(weights.values())
    if amount == 0 or not weights:
        return {}
    if total <= 0:
        raise ValueError("allocation weights must sum to more than zero")
    sign = -1 if amount < 0 else 1
    shares = {k: abs(amount) * w // total for k, w in weights.items()}
    remainders = sorted(weights, key=lambda k: (-(abs(amount) * weights[k] % total), k))
    for key in remainders[: abs(amount) - sum(shares.values())]:
        shares[key] += 1
    return {k: sign * v for k, v in shares.items() if v}
