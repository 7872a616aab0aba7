"""The sample DigitalOcean account: the documents the API (and the control panel's CSV) would return.

Bills are derived from the same resources the platform records, priced the way DigitalOcean
prices them (hours rounded up, capped at the monthly price), so cost lines join back to
deployments. Some lines are deliberately unmatched: the stray droplet, the Spaces subscription
and the GST line. The reused droplet name carries no ids in the JSON items, so it can only be
matched by name and lifetime.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from billing_assets.periods import Period, aware, iso_z
from billing_assets.price_list import price_list
from billing_assets.sample_world.world import REUSED_NAME, World, stable_id

CENT = Decimal("0.01")
# size -> (monthly USD, hourly USD, hours from which the monthly price is billed, or None): the
# shipped price list of DigitalOcean's published prices, the same one FOCUS rows are priced from.
PRICES: dict[str, tuple[Decimal, Decimal, int | None]] = {
    sku: (p.monthly_usd, p.hourly_usd, p.monthly_cap_hours) for sku, p in price_list().items() if p.hourly_usd}
GST = Decimal("0.10")
SPACES = ("Spaces Subscription", "Spaces ($5/mo 250GB storage & 1TB bandwidth)",
          price_list()["spaces-subscription"].monthly_usd)
CSV_HEADER = ["product", "group_description", "description", "hours", "start", "end", "USD",
              "project_name", "category"]



def _money(value: Decimal) -> str:
    return str(value.quantize(CENT, rounding=ROUND_HALF_UP))


def _csv_money(value: Decimal) -> str:
    text = f"{abs(value):,.2f}"
    return f"-${text}" if value < 0 else f"${text}"


def _csv_time(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S +0000")


def _billed(size: str, start: datetime, end: datetime) -> tuple[int, Decimal]:
    monthly, hourly, cap = PRICES[size]
    hours = math.ceil((end - start).total_seconds() / 3600)
    amount = hours * hourly
    if cap is not None and hours >= cap:
        amount = monthly
    return hours, min(amount, monthly) if cap is not None else amount


def _reused(name: str) -> bool:
    """The reused droplet name (or a copy's, `redwood-web-00042`): DigitalOcean's items carry no id for it."""
    return name == REUSED_NAME or (name.startswith(REUSED_NAME + "-") and name[len(REUSED_NAME) + 1:].isdigit())


def invoice_lines(world: World, period: Period) -> list[dict]:
    """The month's invoice items as the JSON API returns them (amounts as strings)."""
    tenants = {t["tenant_id"]: t["slug"] for t in world.tables["tenants"]}
    deployments = {d["deployment_id"]: tenants[d["tenant_id"]] for d in world.tables["deployments"]}
    lines = []

    def add(product, description, size, start, end, *, group="", project="", category="iaas",
            resource_id=None, resource_uuid=None, full_month_end_inclusive=False):
        hours, amount = _billed(size, start, end)
        shown_end = end - timedelta(seconds=1) if (full_month_end_inclusive and end == period.end) else end
        item = {"product": product, "group_description": group, "description": description,
                "amount": _money(amount), "duration": str(hours), "duration_unit": "Hours",
                "start_time": iso_z(start), "end_time": iso_z(shown_end), "project_name": project,
                "category": category}
        if resource_id:
            item["resource_id"] = resource_id
        if resource_uuid:
            item["resource_uuid"] = resource_uuid
        lines.append(item)

    for r in world.tables["cloud_resources"]:
        window = period.clip(aware(r["created_at"]), aware(r["deleted_at"]))
        if window is None or r["kind"] == "kubernetes_cluster":
            continue
        project = deployments[r["deployment_id"]]
        kind, name, size = r["kind"], r["name"], r["size_slug"]
        ids = {} if _reused(name) else (
            {"resource_id": r["provider_resource_id"]} if kind == "droplet" else {"resource_uuid": r["provider_uuid"]})
        if kind == "droplet":
            add("Droplets", f"{name} ({size})", size, window.start, window.end, project=project, **ids)
        elif kind == "volume":
            add("Volumes", f"{name} ({r['region']}) {size.removesuffix('gb')}GB", size, window.start, window.end,
                project=project, full_month_end_inclusive=True, **ids)
        elif kind == "database":
            add("Database Clusters", f"{size} node", size, window.start, window.end, group=name,
                project=project, category="paas", **ids)
        elif kind == "load_balancer":
            add("Load Balancers", f"{name} ({size})", size, window.start, window.end, project=project, **ids)
    clusters = {r["provider_uuid"]: deployments[r["deployment_id"]] for r in world.tables["cloud_resources"]
                if r["kind"] == "kubernetes_cluster"}
    for node in world.kubernetes_nodes:
        window = period.clip(node["created_at"], node["deleted_at"])
        if window:
            add("Kubernetes Clusters", f"{node['name']} ({node['size_slug']})", node["size_slug"],
                window.start, window.end, group=node["cluster_name"], project=clusters[node["cluster_uuid"]],
                resource_uuid=node["cluster_uuid"])
    for stray in world.provider_only_resources:
        window = period.clip(stray["created_at"], stray["deleted_at"])
        if window:
            add("Droplets", f"{stray['name']} ({stray['size_slug']})", stray["size_slug"], window.start,
                window.end, resource_id=stray["provider_resource_id"])
    lines.sort(key=lambda i: (i["product"], i["group_description"], i["description"], i["start_time"]))
    product, description, amount = SPACES
    lines.append({"product": product, "description": description, "amount": _money(amount),
                  "duration": str(int(period.seconds / 3600)), "duration_unit": "Hours",
                  "start_time": iso_z(period.start), "end_time": iso_z(period.end), "category": "iaas"})
    subtotal = sum(Decimal(i["amount"]) for i in lines)
    lines.append({"product": "Taxes", "group_description": "", "description": "GST Australia (10.00%)",
                  "amount": _money(subtotal * GST), "duration": "", "duration_unit": "",
                  "start_time": iso_z(period.start), "end_time": iso_z(period.end - timedelta(seconds=1)),
                  "project_name": "", "category": "iaas"})
    return lines


def invoice_csv(lines: list[dict]) -> bytes:
    """The invoice CSV as the control panel exports it: `$` amounts, `+0000` dates, CRLF rows."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in lines:
        start = datetime.strptime(item["start_time"], "%Y-%m-%dT%H:%M:%SZ")  # noqa: DTZ007
        end = datetime.strptime(item["end_time"], "%Y-%m-%dT%H:%M:%SZ")  # noqa: DTZ007
        writer.writerow([item["product"], item.get("group_description", ""), item["description"],
                         item.get("duration", ""), _csv_time(start), _csv_time(end),
                         _csv_money(Decimal(item["amount"])), item.get("project_name", ""),
                         item.get("category", "")])
    return out.getvalue().encode("utf-8")


def invoice_summary(invoice: dict, lines: list[dict]) -> dict:
    products: dict[str, list[Decimal]] = {}
    for item in lines:
        if item["product"] != "Taxes":
            products.setdefault(item["product"], []).append(Decimal(item["amount"]))
    charges = sum((sum(v) for v in products.values()), Decimal(0))
    taxes = sum((Decimal(i["amount"]) for i in lines if i["product"] == "Taxes"), Decimal(0))
    return {
        "invoice_uuid": invoice["invoice_uuid"], "invoice_id": invoice["invoice_id"],
        "billing_period": invoice["invoice_period"], "amount": invoice["amount"],
        "user_name": "Platform Ops", "user_company": "Sample Platform Pty Ltd",
        "user_email": "ops@platform.example",
        "user_billing_address": {"address_line1": "1 George St", "address_line2": "", "city": "Sydney",
                                 "region": "NSW", "postal_code": "2000", "country_iso2_code": "AU",
                                 "created_at": "2025-10-01T00:00:00Z", "updated_at": "2025-10-01T00:00:00Z"},
        "product_charges": {"name": "Product usage charges", "amount": _money(charges), "items": [
            {"name": name, "amount": _money(sum(values)), "count": str(len(values))}
            for name, values in sorted(products.items())]},
        "overages": {"name": "Overages", "amount": "0.00"},
        "taxes": {"name": "Taxes", "amount": _money(taxes)},
        "credits_and_adjustments": {"name": "Credits & adjustments", "amount": "0.00"},
    }


def _page(key: str, items: list, *, total: bool = True) -> dict:
    body = {key: items, "links": {}, "meta": {"total": len(items)} if total else {}}
    return body


def account_documents(world: World) -> dict[str, bytes]:
    """Relative path -> bytes of the export folder (layout in README 'DigitalOcean documents')."""
    docs: dict[str, bytes] = {}

    def put(path: str, body: dict) -> None:
        docs[path] = (json.dumps(body, indent=2, sort_keys=False) + "\n").encode("utf-8")

    invoices, history = [], []
    for index, period in enumerate(world.params.periods):
        lines = invoice_lines(world, period)
        total = sum(Decimal(i["amount"]) for i in lines)
        invoice = {"invoice_uuid": stable_id("do-invoice", period.label), "invoice_id": str(41_000_100 + index),
                   "amount": _money(total), "invoice_period": period.label}
        invoices.append(invoice)
        base = f"invoices/{invoice['invoice_uuid']}"
        put(f"{base}/items.json", _page("invoice_items", lines))
        put(f"{base}/summary.json", invoice_summary(invoice, lines))
        docs[f"{base}/invoice.csv"] = invoice_csv(lines)
        issued = period.end + timedelta(hours=8, minutes=44, seconds=38)
        month_name = period.start.strftime("%B %Y")
        history.append({"description": f"Invoice for {month_name}", "amount": invoice["amount"],
                        "invoice_id": invoice["invoice_id"], "invoice_uuid": invoice["invoice_uuid"],
                        "date": iso_z(issued), "type": "Invoice"})
        history.append({"description": "Payment (Visa 4242)", "amount": f"-{invoice['amount']}",
                        "date": iso_z(issued + timedelta(days=1)), "type": "Payment"})
    history.extend(_other_history_entries(world))
    history.sort(key=lambda e: (e["date"], e["type"], e["description"]))
    as_of = world.params.as_of
    preview_period = f"{as_of:%Y-%m}"
    preview = {"invoice_uuid": stable_id("do-invoice", preview_period), "invoice_id": str(41_000_100 + len(invoices)),
               "amount": "31.18", "invoice_period": preview_period, "updated_at": iso_z(as_of)}
    invoices.sort(key=lambda i: i["invoice_period"], reverse=True)
    put("invoices.json", {**_page("invoices", invoices), "invoice_preview": preview})
    put("billing_history.json", _page("billing_history", history, total=False))
    put("balance.json", {"month_to_date_balance": "31.18", "account_balance": "0.00",
                         "month_to_date_usage": "31.18", "generated_at": iso_z(as_of)})
    for name, body in inventory(world).items():
        put(f"resources/{name}.json", body)
    return docs


def _other_history_entries(world: World) -> list[dict]:
    """One of each remaining billing-history type, so ingest sees all ten."""
    periods = world.params.periods
    p = [periods[min(i, len(periods) - 1)] for i in range(6)]  # a short world has them in its last month
    entries = [
        ("Credit", "Promotional credit", "-25.00", p[0].start + timedelta(days=14)),
        ("CreditExpiration", "Promotional credit expired", "4.10", p[3].start),
        ("Adjustment", "Billing adjustment: Droplet outage", "-3.50", p[1].start + timedelta(days=20)),
        ("AttemptFailed", "Payment attempt failed (Visa 4242)", "0.00", p[2].end + timedelta(days=1, hours=1)),
        ("ACHFailure", "ACH payment failed", "0.00", p[2].end + timedelta(days=1, hours=2)),
        ("Chargeback", "Chargeback", "12.00", p[4].start + timedelta(days=9)),
        ("Refund", "Refund (Visa 4242)", "6.00", p[4].start + timedelta(days=12)),
        ("Reversal", "Reversal of chargeback", "-12.00", p[5].start + timedelta(days=3)),
    ]
    return [{"description": d, "amount": a, "date": iso_z(at), "type": kind} for kind, d, a, at in entries]


def inventory(world: World) -> dict[str, dict]:
    """Resource lists as of the export: deleted resources are absent, as in the live API."""
    as_of = world.params.as_of
    alive = [r for r in world.tables["cloud_resources"]
             if aware(r["created_at"]) <= as_of and (r["deleted_at"] is None or aware(r["deleted_at"]) > as_of)]
    tenants = {t["tenant_id"]: t["slug"] for t in world.tables["tenants"]}
    deployments = {d["deployment_id"]: tenants[d["tenant_id"]] for d in world.tables["deployments"]}

    def droplet(id_, name, size, region, created, tags):
        monthly, hourly, _ = PRICES[size]
        return {"id": int(id_), "name": name, "size_slug": size, "status": "active",
                "size": {"slug": size, "price_monthly": float(monthly), "price_hourly": float(hourly)},
                "region": {"slug": region}, "created_at": iso_z(aware(created)), "tags": tags}

    droplets, gpus, volumes, dbs, lbs, clusters = [], [], [], [], [], []
    for r in alive:
        created = aware(r["created_at"])
        tags = [f"tenant:{deployments[r['deployment_id']]}"]
        if r["kind"] == "droplet":
            target = gpus if r["size_slug"].startswith("gpu") else droplets
            target.append(droplet(r["provider_resource_id"], r["name"], r["size_slug"], r["region"], created, tags))
        elif r["kind"] == "volume":
            volumes.append({"id": r["provider_uuid"], "name": r["name"], "size_gigabytes": 100,
                            "region": {"slug": r["region"]}, "created_at": iso_z(created), "tags": tags})
        elif r["kind"] == "database":
            dbs.append({"id": r["provider_uuid"], "name": r["name"], "engine": "pg", "version": "16",
                        "size": r["size_slug"], "num_nodes": 1, "region": r["region"],
                        "created_at": iso_z(created), "tags": tags})
        elif r["kind"] == "load_balancer":
            lbs.append({"id": r["provider_uuid"], "name": r["name"], "size": r["size_slug"],
                        "region": {"slug": r["region"]}, "created_at": iso_z(created)})
        elif r["kind"] == "kubernetes_cluster":
            nodes = [n for n in world.kubernetes_nodes if n["cluster_uuid"] == r["provider_uuid"]]
            clusters.append({"id": r["provider_uuid"], "name": r["name"], "region": r["region"],
                             "created_at": iso_z(created), "tags": ["k8s", f"k8s:{r['provider_uuid']}"],
                             "node_pools": [{"id": stable_id("pool", r["name"]), "name": "pool", "size": "s-2vcpu-4gb",
                                             "count": len(nodes),
                                             "nodes": [{"id": stable_id("node", n["name"]), "name": n["name"],
                                                        "droplet_id": n["droplet_id"]} for n in nodes]}]})
            for n in nodes:
                droplets.append(droplet(n["droplet_id"], n["name"], n["size_slug"], n["region"], created,
                                        ["k8s", f"k8s:{r['provider_uuid']}", "k8s:worker"]))
    for items in (droplets, gpus, volumes, dbs, lbs, clusters):
        items.sort(key=lambda x: str(x["id"]))
    return {"droplets": _page("droplets", droplets), "droplets_gpus": _page("droplets", gpus),
            "volumes": _page("volumes", volumes), "databases": {"databases": dbs},
            "load_balancers": _page("load_balancers", lbs),
            "kubernetes_clusters": _page("kubernetes_clusters", clusters), "apps": _page("apps", [])}
