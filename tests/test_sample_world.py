import csv
import hashlib
import io
import json
from collections import Counter

from billing_assets.sample_world import WorldParams, build_world
from billing_assets.sample_world.do_account import CSV_HEADER, account_documents
from billing_assets.sample_world.world import (
    CANCEL_AT,
    PILOT_DEPLOYMENT_SLUG,
    REUSED_NAME,
    STRAY_DROPLET,
    TRIAL_END,
    UPGRADE_AT,
)
from billing_assets.sample_world.writer import write_sample_world


def _digest(root):
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(path.relative_to(root).as_posix().encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def test_same_seed_same_bytes(tmp_path):
    import sqlite3

    digests = []
    for run in ("a", "b"):
        write_sample_world(tmp_path / run / "source.sqlite", tmp_path / run / "do")
        conn = sqlite3.connect(tmp_path / run / "source.sqlite")
        dump = "\n".join(conn.iterdump())
        conn.close()
        digests.append((_digest(tmp_path / run / "do"), hashlib.sha256(dump.encode()).hexdigest()))
    assert digests[0] == digests[1]
    other = build_world(WorldParams(seed=7))
    assert other.tables["usage_events"] != build_world().tables["usage_events"]


def test_world_has_every_scenario(world):
    t = world.tables
    assert len(t["tenants"]) >= 8
    assert {"AU", "EXPORT"} <= {x["tax_jurisdiction"] for x in t["tenants"]}
    assert len({x["tax_jurisdiction"] for x in t["tenants"]}) >= 3
    assert len(t["deployments"]) >= 20
    versions = Counter(v["plan_id"] for v in t["plan_versions"])
    assert len(versions) >= 3 and all(n >= 2 for n in versions.values())
    phases = Counter(p["subscription_id"] for p in t["subscription_phases"])
    assert max(phases.values()) >= 2                                   # a plan change
    starts = {p["effective_from"] for p in t["subscription_phases"]}
    assert UPGRADE_AT.replace(tzinfo=None) in starts and UPGRADE_AT.day not in (1,)  # mid-month
    assert any(s["canceled_at"] == CANCEL_AT.replace(tzinfo=None) for s in t["subscriptions"])
    assert any(s["trial_ends_at"] == TRIAL_END.replace(tzinfo=None) for s in t["subscriptions"])
    assert t["subscription_add_ons"]
    assert any(r["deleted_at"] and r["deleted_at"].day not in (1,) for r in t["cloud_resources"])
    keys = Counter(e["idempotency_key"] for e in t["usage_events"])
    assert any(n > 1 for n in keys.values())                           # duplicates on purpose
    late = [e for e in t["usage_events"] if (e["received_at"] - e["occurred_at"]).days >= 2]
    assert late                                                        # late arrivals on purpose
    assert len(world.params.periods) >= 6
    names = Counter(r["name"] for r in t["cloud_resources"])
    assert names[REUSED_NAME] == 2
    assert any(d["slug"] == PILOT_DEPLOYMENT_SLUG for d in t["deployments"])


def test_digitalocean_folder_speaks_the_api_formats(world):
    docs = account_documents(world)
    listing = json.loads(docs["invoices.json"])
    assert set(listing) == {"invoices", "invoice_preview", "links", "meta"}
    assert all(isinstance(i["amount"], str) for i in listing["invoices"])
    april = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")
    rows = list(csv.DictReader(io.StringIO(docs[f"invoices/{april['invoice_uuid']}/invoice.csv"].decode())))
    assert list(rows[0]) == CSV_HEADER
    assert all(r["USD"].startswith(("$", "-$")) for r in rows)
    assert all(r["start"].endswith(" +0000") for r in rows)
    products = {r["product"] for r in rows}
    assert {"Droplets", "Spaces Subscription", "Taxes"} <= products
    march = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-03")
    items = json.loads(docs[f"invoices/{march['invoice_uuid']}/items.json"])["invoice_items"]
    assert any(i["description"].startswith(STRAY_DROPLET) for i in items)
    reused = [i for i in items if i["description"].startswith(REUSED_NAME)]
    assert len(reused) == 2 and all("resource_id" not in i for i in reused)
    history = json.loads(docs["billing_history.json"])["billing_history"]
    assert {e["type"] for e in history} == {"ACHFailure", "Adjustment", "AttemptFailed", "Chargeback", "Credit",
                                            "CreditExpiration", "Invoice", "Payment", "Refund", "Reversal"}


def test_a_larger_world_copies_every_demo_tenant_with_its_scenarios():
    demo, larger = build_world(), build_world(WorldParams(tenants=25, months=10))
    # The first ten tenants are the demo's own, so a larger world contains the demo's scenarios verbatim.
    assert all(t in larger.tables["tenants"] for t in demo.tables["tenants"])
    assert len(larger.tables["tenants"]) == 25
    # Tenant 12 copies demo tenant 2 (kiwi-co, copy 1), the cancellation included.
    kiwi = next(t for t in larger.tables["tenants"] if t["slug"] == "kiwi-co-00001")
    legacy = next(d for d in larger.tables["deployments"] if d["slug"] == "kiwi-legacy-00001")
    assert legacy["tenant_id"] == kiwi["tenant_id"] and legacy["deleted_at"] == CANCEL_AT.replace(tzinfo=None)
    # Every per-tenant table grows in proportion: 2 full copies and half of the next (tenants 20..24).
    for table in ("deployments", "subscriptions", "subscription_phases", "credit_grants"):
        copied = [r for r in larger.tables[table] if r not in demo.tables[table]]
        assert copied, table
    names = Counter(r["name"] for r in larger.tables["cloud_resources"])
    assert names[REUSED_NAME] == 2 and names[f"{REUSED_NAME}-00001"] == 2  # the reused name, per copy
    assert len({r["provider_resource_id"] for r in larger.tables["cloud_resources"] if r["kind"] == "droplet"}) == \
        sum(1 for r in larger.tables["cloud_resources"] if r["kind"] == "droplet")  # droplet ids stay unique
    # The DigitalOcean documents bill the copies too; the stray droplet and odd events exist once.
    docs = account_documents(larger)
    csv_text = next(v for k, v in docs.items() if k.endswith("invoice.csv")).decode()
    assert "kiwi-legacy-00001-web-1" in csv_text and csv_text.count(STRAY_DROPLET) <= 1


def test_world_parameters_are_checked():
    import pytest

    with pytest.raises(ValueError, match="at least 1"):
        WorldParams(tenants=0)
