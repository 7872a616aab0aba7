"""A local HTTP server speaking the finance service's import API as README "The books" defines it.

- `POST /api/v1/integrations/cloud/import-invoice` (payables) and
  `POST /api/v1/integrations/billing/import-sales-invoice` (receivables), JSON bodies.
- Authorization: `Bearer <JWT>`, HS256 with the shared secret, unexpired, identity tenant
  `platform-admin` and role `admin`; anything else is 401 with `{"error": ...}`.
- Idempotent on (identity tenant, source, external id): the first import answers 201
  `{"id", "status": "created"}`, every later one 200 `{"id" (the same), "status": "updated"}` and
  replaces the stored payload. So the service never holds two rows for one document.
- Validation as a finance service would do it: 422 `{"error": ...}` when a field is missing, a
  payable's gross is not net + tax or not the sum of its lines, or a receivable's total is not
  subtotal + tax.

Test hooks: `fail_before(path, status)` answers `status` once without acting (a 503 or 429 that
heals); `stall_after(path, seconds)` stores the document, then sleeps past the client's timeout (the
answer is lost, as when the connection drops after the create).
"""

from __future__ import annotations

import json
import time
import uuid

import jwt
from werkzeug import Request, Response

PAYABLE = "/api/v1/integrations/cloud/import-invoice"
RECEIVABLE = "/api/v1/integrations/billing/import-sales-invoice"
REQUIRED = {PAYABLE: ("source", "external_id", "period", "currency", "gross_minor", "net_minor", "tax_minor", "vendor",
                      "lines"),
            RECEIVABLE: ("source", "external_id", "document_number", "document_type", "customer", "currency",
                         "subtotal_minor", "tax_minor", "total_minor", "lines")}


class FakeFinanceService:
    def __init__(self, secret: str):
        self.secret = secret
        self.rows: dict[tuple[str, str, str], dict] = {}  # (tenant, source, external id) -> stored row
        self.posts: list[tuple[str, str]] = []  # (path, external id) of every request that reached the service
        self._faults: list[tuple[str, str, float]] = []

    def fail_before(self, path: str, status: int) -> None:
        self._faults.append(("before", path, status))

    def stall_after(self, path: str, seconds: float) -> None:
        self._faults.append(("after", path, seconds))

    def _fault(self, kind: str, path: str):
        for fault in self._faults:
            if fault[0] == kind and fault[1] == path:
                self._faults.remove(fault)
                return fault[2]
        return None

    @staticmethod
    def _json(status: int, body: dict, headers: dict | None = None) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path not in REQUIRED or request.method != "POST":
            return self._json(404, {"error": f"no route {request.method} {path}"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, self.secret, algorithms=["HS256"], options={"require": ["exp", "iat"]})
        except jwt.PyJWTError as exc:
            return self._json(401, {"error": f"invalid token: {exc}"})
        if claims.get("tenant") != "platform-admin" or claims.get("role") != "admin":
            return self._json(403, {"error": "admin identity required"})
        status = self._fault("before", path)
        if status is not None:
            return self._json(int(status), {"error": "try again"}, {"Retry-After": "0"})
        payload = json.loads(request.get_data())
        if problem := self._invalid(path, payload):
            return self._json(422, {"error": problem})
        self.posts.append((path, payload["external_id"]))
        key = (claims["tenant"], payload["source"], payload["external_id"])
        existing = self.rows.get(key)
        row = {"id": existing["id"] if existing else f"fin_{uuid.uuid4().hex[:12]}", "path": path, "payload": payload}
        self.rows[key] = row
        stall = self._fault("after", path)
        if stall is not None:
            time.sleep(stall)
        return self._json(200 if existing else 201, {"id": row["id"], "status": "updated" if existing else "created"})

    @staticmethod
    def _invalid(path: str, p: dict) -> str | None:
        missing = [f for f in REQUIRED[path] if f not in p]
        if missing:
            return f"missing: {', '.join(missing)}"
        if path == PAYABLE:
            if p["gross_minor"] != p["net_minor"] + p["tax_minor"]:
                return "gross_minor must equal net_minor + tax_minor"
            if p["gross_minor"] != sum(line["amount_minor"] for line in p["lines"]):
                return "gross_minor must equal the sum of the lines"
        elif p["total_minor"] != p["subtotal_minor"] + p["tax_minor"]:
            return "total_minor must equal subtotal_minor + tax_minor"
        return None

    def held(self, source: str) -> dict[str, dict]:
        """external id -> stored payload, for one source."""
        return {k[2]: row["payload"] for k, row in self.rows.items() if k[1] == source}
