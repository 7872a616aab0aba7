"""Each matching rule, the product table and the allocation arithmetic, directly."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billing_assets.cogs.matching import Line, Resource, allocate, matcher, product_kind

T = lambda d: datetime(2026, 3, d, tzinfo=UTC)  # noqa: E731


def res(rid, kind, name, created=1, deleted=None, numeric=None, uuid=None, deployment=None):
    return Resource(rid, deployment or f"dep-{rid}", "ten-1", kind, name, numeric, uuid, T(created),
                    T(deleted) if deleted else None)


def line(product, description, group="", start=1, end=31, rid=None, ruuid=None, tax=False):
    return Line("inv", 1, product, group, description, T(start), T(end), 100, tax, rid, ruuid)


RESOURCES = [
    res("a", "droplet", "web-1", numeric="111"),
    res("b", "volume", "data", uuid="vol-uuid"),
    res("c", "kubernetes_cluster", "prod-k8s", uuid="k8s-uuid"),
    res("d", "database", "main-db", uuid="db-uuid"),
    res("e", "load_balancer", "edge-lb", uuid="lb-uuid"),
    res("old", "droplet", "reused", created=1, deleted=10),
    res("new", "droplet", "reused", created=20),
    res("twin1", "droplet", "twin"), res("twin2", "droplet", "twin"),
]


def match(one: Line, nodes=None):
    return matcher(RESOURCES, nodes or {})(one)


def test_rule_a_ids():
    assert (match(line("Droplets", "anything", rid="111")).method, match(line("Droplets", "x", rid="111")).resource_id
            ) == ("resource_id", "a")
    assert match(line("Volumes", "zzz", ruuid="vol-uuid")).method == "resource_uuid"
    node = match(line("Droplets", "pool-1 (s-2vcpu-4gb)", rid="999"), nodes={"999": "k8s-uuid"})
    assert (node.method, node.resource_id) == ("kubernetes_node", "c")


def test_rule_b_names_by_product_pattern_case_insensitive():
    assert match(line("Droplets", "WEB-1 (s-1vcpu-1gb)")).resource_id == "a"
    assert match(line("Volumes", "data (syd1) 100GB")).resource_id == "b"
    assert match(line("Kubernetes Clusters", "pool-x (s-2vcpu-4gb)", group="prod-k8s")).resource_id == "c"
    assert match(line("Database Clusters", "db-s-1vcpu-1gb node", group="main-db")).resource_id == "d"
    assert match(line("Load Balancers", "edge-lb (lb-small)")).resource_id == "e"
    assert match(line("Droplets", "web-1 (s-1vcpu-1gb)")).method == "name"


def test_reused_name_matches_the_resource_alive_during_the_line():
    assert match(line("Droplets", "reused (s-1vcpu-1gb)", start=1, end=10)).resource_id == "old"
    assert match(line("Droplets", "reused (s-1vcpu-1gb)", start=20, end=31)).resource_id == "new"
    assert match(line("Droplets", "reused (s-1vcpu-1gb)", start=12, end=15)).unallocated_reason == "unknown_resource"
    # spanning both lifetimes: the longer overlap wins
    assert match(line("Droplets", "reused (s-1vcpu-1gb)", start=1, end=25)).resource_id == "old"


def test_rule_c_unmatched_with_a_reason():
    assert match(line("Taxes", "GST Australia (10.00%)", tax=True)).unallocated_reason == "provider_tax"
    assert match(line("Spaces Subscription", "Spaces ($5/mo)")).unallocated_reason == "account_level"
    assert match(line("Droplets", "ops-debug (s-2vcpu-4gb)", rid="777")).unallocated_reason == "unknown_resource"
    assert match(line("Droplets", "twin (s-1vcpu-1gb)")).unallocated_reason == "ambiguous_name"
    assert match(line("Mystery Product", "x")).kind == "other"


def test_product_table():
    assert [product_kind(p) for p in ("Droplets", "Volumes", "Kubernetes Clusters", "Database Clusters",
                                      "Load Balancers", "Spaces Subscription", "Floating IPs", "App Platform",
                                      "Snapshots", "Backups", "Taxes", "Unknown")] == [
        "droplet", "volume", "kubernetes_cluster", "database", "load_balancer", "spaces", "floating_ip", "app",
        "snapshot", "backup", "tax", "other"]


def test_allocation_examples():
    assert allocate(100, {"a": 1, "b": 1, "c": 1}) == {"a": 34, "b": 33, "c": 33}
    assert allocate(-100, {"a": 1, "b": 1, "c": 1}) == {"a": -34, "b": -33, "c": -33}
    assert allocate(10, {"a": 3, "b": 1}) == {"a": 8, "b": 2}
    assert allocate(0, {"a": 1}) == {}
    with pytest.raises(ValueError):
        allocate(5, {"a": 0})


@given(st.integers(-10**9, 10**9), st.dictionaries(st.text(min_size=1, max_size=4), st.integers(1, 10**6),
                                                  min_size=1, max_size=12))
def test_allocation_always_sums_exactly(amount, weights):
    parts = allocate(amount, weights)
    assert sum(parts.values()) == amount
    assert allocate(amount, dict(reversed(list(weights.items())))) == parts
