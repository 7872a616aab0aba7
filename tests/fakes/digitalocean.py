"""A local HTTP server that speaks DigitalOcean API v2's billing and inventory wire format.

It serves the sample world's account (the same documents as the export folder), re-paginated:
`page`/`per_page` are honoured up to `max_page_size`, `links.pages.next`/`last` are full URLs on
the public host (as the real API writes them), `meta.total` is set, errors carry DigitalOcean's
`{"id", "message", "request_id"}` body. `faults` injects responses per path, in order.
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from urllib.parse import urlencode

from werkzeug import Request, Response

PUBLIC = "https://api.digitalocean.com"
LISTS = {  # path -> (export-folder document, list key)
    "/v2/customers/my/invoices": ("invoices.json", "invoices"),
    "/v2/customers/my/billing_history": ("billing_history.json", "billing_history"),
    "/v2/droplets": ("resources/droplets.json", "droplets"),
    "/v2/volumes": ("resources/volumes.json", "volumes"),
    "/v2/databases": ("resources/databases.json", "databases"),
    "/v2/load_balancers": ("resources/load_balancers.json", "load_balancers"),
    "/v2/kubernetes/clusters": ("resources/kubernetes_clusters.json", "kubernetes_clusters"),
    "/v2/apps": ("resources/apps.json", "apps"),
}


TOKEN = "dop_v1_" + "0123456789abcdef" * 4  # a made-up token, never a real one

def _half_then_drop(body: bytes):
    yield body[: len(body) // 2]
    raise ConnectionAbortedError("the fake server drops the connection mid-body")


class FakeDigitalOcean:
    def __init__(self, documents: dict[str, bytes], token: str, max_page_size: int = 200) -> None:
        self.documents, self.token, self.max_page_size = documents, token, max_page_size
        # path -> [("status", code, id, message[, headers]) | ("sleep", s) | ("cut",): the body stops halfway]
        self.faults: dict[str, list] = defaultdict(list)
        self.requests: list[tuple[str, str]] = []

    def fail(self, path: str, *faults) -> None:
        self.faults[path].extend(faults)

    @staticmethod
    def error(status: int, error_id: str, message: str, headers: dict | None = None) -> Response:
        body = {"id": error_id, "message": message, "request_id": f"req-{error_id}-{status}"}
        return Response(json.dumps(body), status=status, content_type="application/json", headers=headers or {})

    def _page(self, path: str, body: dict, key: str, request: Request) -> Response:
        items = body[key]
        per_page = min(int(request.args.get("per_page", 20)), self.max_page_size)
        page = int(request.args.get("page", 1))
        chunk = items[(page - 1) * per_page: page * per_page]
        last = max(1, -(-len(items) // per_page))
        out = {k: v for k, v in body.items() if k not in (key, "links", "meta")}
        out[key] = chunk
        pages = {}
        if page > 1:
            pages["first"] = f"{PUBLIC}{path}?{urlencode({'page': 1, 'per_page': per_page})}"
            pages["prev"] = f"{PUBLIC}{path}?{urlencode({'page': page - 1, 'per_page': per_page})}"
        if page < last:
            pages["next"] = f"{PUBLIC}{path}?{urlencode({'page': page + 1, 'per_page': per_page})}"
            pages["last"] = f"{PUBLIC}{path}?{urlencode({'page': last, 'per_page': per_page})}"
        out["links"] = {"pages": pages} if pages else {}
        out["meta"] = {"total": len(items)}
        return self._json(out)

    @staticmethod
    def _json(body: dict) -> Response:
        headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "4999",
                   "ratelimit-reset": str(int(time.time()) + 60)}
        return Response(json.dumps(body), content_type="application/json", headers=headers)

    def __call__(self, request: Request) -> Response:
        path = request.path
        self.requests.append((path, request.query_string.decode()))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self.error(401, "unauthorized", "Unable to authenticate you.")
        cut = False
        if self.faults.get(path):
            fault = self.faults[path].pop(0)
            if fault[0] == "sleep":
                time.sleep(fault[1])
            elif fault[0] == "cut":
                cut = True
            else:
                return self.error(fault[1], fault[2], fault[3], fault[4] if len(fault) > 4 else None)
        if path in LISTS:
            name, key = LISTS[path]
            if path == "/v2/droplets" and request.args.get("type") == "gpus":
                name = "resources/droplets_gpus.json"
            return self._page(path, json.loads(self.documents[name]), key, request)
        if path == "/v2/customers/my/balance":
            return self._json(json.loads(self.documents["balance.json"]))
        match = re.fullmatch(r"/v2/customers/my/invoices/([0-9a-f-]+)(/summary|/csv)?", path)
        if match and f"invoices/{match[1]}/items.json" in self.documents:
            uuid, tail = match[1], match[2]
            if tail == "/summary":
                return self._json(json.loads(self.documents[f"invoices/{uuid}/summary.json"]))
            if tail == "/csv":
                body = self.documents[f"invoices/{uuid}/invoice.csv"]
                headers = {"content-disposition": f'attachment; filename="invoice-{uuid}.csv"'}
                if cut:  # the connection drops after half the body: Content-Length promises more
                    return Response(_half_then_drop(body), content_type="text/csv",
                                    headers={**headers, "content-length": str(len(body))}, direct_passthrough=True)
                return Response(body, content_type="text/csv", headers=headers)
            return self._page(path, json.loads(self.documents[f"invoices/{uuid}/items.json"]), "invoice_items",
                              request)
        return self.error(404, "not_found", "The resource you requested could not be found.")
