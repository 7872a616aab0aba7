"""A local HTTP server speaking Stripe's wire format for the endpoints billing_assets uses.

Form-encoded requests (nested `a[b]` / `a[0][b]` keys), JSON objects with `object` and `id`,
search results, Stripe's error body. Every POST must carry an Idempotency-Key (else 400); a
repeated key replays the stored response without acting again. `stall_after` makes the next
matching POST do its work and then sleep past the client's timeout, like a connection lost
after the server acted: the client's retry must be answered from the idempotency store.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict

from werkzeug import Request, Response


def unflatten(pairs: list[tuple[str, str]]) -> dict:
    root: dict = {}
    for key, value in pairs:
        parts = re.findall(r"[^\[\]]+", key)
        node = root
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    def listify(node):
        if isinstance(node, dict):
            node = {k: listify(v) for k, v in node.items()}
            if node and all(k.isdigit() for k in node):
                return [node[k] for k in sorted(node, key=int)]
        return node
    return listify(root)


class FakeStripe:
    def __init__(self, api_key: str) -> None:
        self.api_key = api_key
        self.objects: dict[str, dict[str, dict]] = defaultdict(dict)
        self.idempotency: dict[str, tuple[int, str]] = {}
        self.counters: dict[str, int] = defaultdict(int)
        self.posts_without_key: list[str] = []
        self.stalls: list[tuple[str, float]] = []
        self.requests: list[tuple[str, str]] = []

    def stall_after(self, path_pattern: str, seconds: float) -> None:
        self.stalls.append((path_pattern, seconds))

    def _id(self, prefix: str) -> str:
        self.counters[prefix] += 1
        return f"{prefix}_test{self.counters[prefix]:06d}"

    @staticmethod
    def _json(body: dict, status: int = 200) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json")

    def _error(self, status: int, message: str, kind: str = "invalid_request_error") -> Response:
        return self._json({"error": {"type": kind, "message": message}}, status)

    def pay(self, invoice_id: str, at: int = 1780000000) -> None:
        invoice = self.objects["invoice"][invoice_id]
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0,
                       status_transitions={**invoice["status_transitions"], "paid_at": at})

    def _search(self, kind: str, query: str) -> Response:
        match = re.search(r"metadata\['(\w+)'\]:'([^']*)'", query)
        data = [o for o in self.objects[kind].values() if match and o["metadata"].get(match[1]) == match[2]]
        return self._json({"object": "search_result", "data": data, "has_more": False,
                           "url": f"/v1/{kind}s/search", "next_page": None})

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Invalid API Key provided", "invalid_request_error")
        if request.method == "GET":
            return self._get(request)
        key = request.headers.get("Idempotency-Key")
        if not key:
            self.posts_without_key.append(request.path)
            return self._error(400, "this test server requires an Idempotency-Key on every POST")
        if key in self.idempotency:
            status, body = self.idempotency[key]
            return Response(body, status=status, content_type="application/json", headers={"Idempotent-Replayed": "true"})
        response = self._post(request.path, unflatten(list(request.form.items(multi=True))))
        self.idempotency[key] = (response.status_code, response.get_data(as_text=True))
        for index, (pattern, seconds) in enumerate(self.stalls):
            if re.fullmatch(pattern, request.path):
                del self.stalls[index]
                time.sleep(seconds)  # the work is done; the client will time out and retry
                break
        return response

    def _get(self, request: Request) -> Response:
        path = request.path
        if path == "/v1/customers/search":
            return self._search("customer", request.args.get("query", ""))
        if path == "/v1/invoices/search":
            return self._search("invoice", request.args.get("query", ""))
        match = re.fullmatch(r"/v1/invoices/(in_\w+)", path)
        if match and match[1] in self.objects["invoice"]:
            return self._json(self.objects["invoice"][match[1]])
        return self._error(404, f"No such resource: {path}")

    def _post(self, path: str, params: dict) -> Response:
        if path == "/v1/customers":
            customer = {"id": self._id("cus"), "object": "customer", "name": params.get("name"),
                        "email": params.get("email"), "metadata": params.get("metadata", {})}
            self.objects["customer"][customer["id"]] = customer
            return self._json(customer)
        if path == "/v1/invoices":
            if params.get("customer") not in self.objects["customer"]:
                return self._error(400, "No such customer")
            invoice = {"id": self._id("in"), "object": "invoice", "customer": params["customer"], "status": "draft",
                       "currency": params.get("currency"), "total": 0, "amount_due": 0, "amount_paid": 0,
                       "amount_remaining": 0, "metadata": params.get("metadata", {}),
                       "status_transitions": {"finalized_at": None, "paid_at": None}, "lines": []}
            self.objects["invoice"][invoice["id"]] = invoice
            return self._json(invoice)
        if path == "/v1/invoiceitems":
            invoice = self.objects["invoice"].get(params.get("invoice", ""))
            if invoice is None or invoice["status"] != "draft":
                return self._error(400, "invoice must be a draft")
            item = {"id": self._id("ii"), "object": "invoiceitem", "amount": int(params["amount"]),
                    "invoice": invoice["id"], "description": params.get("description"),
                    "metadata": params.get("metadata", {})}
            self.objects["invoiceitem"][item["id"]] = item
            invoice["lines"].append(item["id"])
            invoice["total"] += item["amount"]
            return self._json(item)
        match = re.fullmatch(r"/v1/invoices/(in_\w+)/finalize", path)
        if match:
            invoice = self.objects["invoice"][match[1]]
            if invoice["status"] != "draft":
                return self._error(400, "invoice is already finalized")
            invoice.update(status="open", amount_due=invoice["total"], amount_remaining=invoice["total"],
                           status_transitions={"finalized_at": 1780000000, "paid_at": None})
            return self._json(invoice)
        if path == "/v1/credit_notes":
            invoice = self.objects["invoice"].get(params.get("invoice", ""))
            if invoice is None or invoice["status"] == "draft":
                return self._error(400, "credit notes need a finalized invoice")
            total = sum(int(line["unit_amount"]) * int(line.get("quantity", 1)) for line in params.get("lines", []))
            note = {"id": self._id("cn"), "object": "credit_note", "invoice": invoice["id"], "total": total,
                    "memo": params.get("memo"), "metadata": params.get("metadata", {})}
            self.objects["credit_note"][note["id"]] = note
            if invoice["status"] == "open":
                invoice["amount_remaining"] -= total
            return self._json(note)
        return self._error(404, f"Unrecognized request URL (POST: {path})")
