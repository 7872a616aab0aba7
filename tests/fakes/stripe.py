"""A local HTTP server speaking Stripe's wire format for the endpoints billing_assets uses, and
behaving as Stripe documents where an integration's correctness depends on it.

Wire format: form-encoded requests (nested `a[b]` / `a[0][b]` keys), JSON objects with `object` and
`id`, list and search results with `has_more` and `starting_after` paging, Stripe's error body.

Behaviours (each one a way a push can go wrong, so each is here on purpose):
- Idempotency keys: every POST must carry one (else 400). The first result for a key is saved,
  errors included (a 500 raised after the work started is replayed for that key, marked
  `Idempotent-Replayed: true`), and kept for `key_ttl_s` of the fake's clock (Stripe: about 24 h);
  a key reused with other parameters gets `idempotency_error` (not saved).
- Search lags creation: objects created less than `search_lag_s` ago (fake clock) are not found
  by `/search`; lists are consistent.
- Invoices: `total` follows the draft's items; finalize sets `amount_due` = total - the customer's
  credit balance applied (`starting_balance`/`ending_balance`); a second finalize is refused with
  `invoice_already_finalized`. A credit note lowers `amount_due`/`amount_remaining` by its
  pre-payment part (up to what remains); the part beyond must be given as `credit_amount`,
  `refund_amount` or `out_of_band_amount`, and `credit_amount` goes to the customer's balance; an
  open invoice left owing nothing is paid.
- `pay(invoice, amount)` may pay part of an invoice.
- Events (`GET /v1/events`): every change of an invoice, charge, dispute or credit note appends an
  event holding a snapshot of the object (`data.object`), as Stripe does. Listed newest first with
  `types[]`, `created[gte]`, `limit` and `starting_after`. Events are retained for `event_ttl_s`
  (Stripe: 30 days); older ones are no longer listed.

Test hooks: `advance(seconds)` moves the clock (past the key window: `advance(DAY + 1)`);
`stall_after(path, s)` does the work and then sleeps past the client's timeout (a lost answer);
`fail_after(path)` does the work and answers 500, `fail_before(path)` answers 500 without acting
(both saved for the key, as Stripe saves any request that started executing); `before(path, fn)`
runs `fn(path)` just before the next matching request (another actor moving first).
`fail_payment(invoice)`, `refund(invoice, amount)` and `dispute(invoice, status)` are the tenant's
bank and card network acting; `shuffle_event_pages = True` lists events out of created order across
pages (Stripe promises no order between events of the same second); `repeat_event(id)` lists that
event once more on the next page read (a replay).
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable

from werkzeug import Request, Response

DAY = 24 * 3600


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
    def __init__(self, api_key: str, key_ttl_s: int = DAY, search_lag_s: int = 5, event_ttl_s: int = 30 * DAY) -> None:
        self.api_key = api_key
        self.key_ttl_s, self.search_lag_s = key_ttl_s, search_lag_s
        self.clock = int(time.time())  # Stripe's clock is the real one; advance() moves it on
        self.objects: dict[str, dict[str, dict]] = defaultdict(dict)
        self.idempotency: dict[str, tuple[int, str, int, str]] = {}  # key -> (saved at, request, status, body)
        self.counters: dict[str, int] = defaultdict(int)
        self.posts_without_key: list[str] = []
        self.hooks: list[tuple[str, str, object]] = []  # (kind, path pattern, argument), each used once
        self.requests: list[tuple[str, str]] = []
        self.events: list[dict] = []
        self.event_ttl_s = event_ttl_s
        self.shuffle_event_pages = False
        self.repeats: list[str] = []

    # -- test hooks -------------------------------------------------------------------------------
    def advance(self, seconds: int) -> None:
        self.clock += seconds

    def stall_after(self, path_pattern: str, seconds: float) -> None:
        self.hooks.append(("stall", path_pattern, seconds))

    def fail_after(self, path_pattern: str) -> None:
        self.hooks.append(("fail_after", path_pattern, None))

    def fail_before(self, path_pattern: str) -> None:
        self.hooks.append(("fail_before", path_pattern, None))

    def before(self, path_pattern: str, action: Callable[[str], None]) -> None:
        self.hooks.append(("before", path_pattern, action))

    def _take_hook(self, kind: str, path: str):
        for index, (k, pattern, argument) in enumerate(self.hooks):
            if k == kind and re.fullmatch(pattern, path):
                del self.hooks[index]
                return argument if argument is not None else True
        return None

    def emit(self, kind: str, obj: dict) -> dict:
        """Stripe's record of a change: a snapshot of the object as it is now."""
        self.counters["evt"] += 1
        event = {"id": f"evt_test{self.counters['evt']:06d}", "object": "event", "type": kind, "created": self.clock,
                 "livemode": False, "api_version": "2025-01-27", "pending_webhooks": 0,
                 "data": {"object": json.loads(json.dumps(obj))}}
        self.events.append(event)
        return event

    def _charge(self, invoice: dict, amount: int, status: str) -> dict:
        charge = {"id": self._id("ch"), "object": "charge", "created": self.clock, "amount": amount,
                  "amount_refunded": 0, "currency": invoice["currency"], "customer": invoice["customer"],
                  "invoice": invoice["id"], "status": status, "paid": status == "succeeded", "refunded": False,
                  "failure_message": "Your card was declined." if status == "failed" else None}
        self.objects["charge"][charge["id"]] = charge
        return charge

    def pay(self, invoice_id: str, amount: int | None = None, at: int | None = None) -> None:
        """The tenant pays `amount` (all that remains by default); paid in full moves it to paid."""
        invoice = self.objects["invoice"][invoice_id]
        amount = invoice["amount_remaining"] if amount is None else amount
        invoice["amount_paid"] += amount
        invoice["amount_remaining"] -= amount
        self.emit("charge.succeeded", self._charge(invoice, amount, "succeeded"))
        if invoice["amount_remaining"] == 0:
            invoice.update(status="paid", status_transitions={**invoice["status_transitions"],
                                                              "paid_at": self.clock if at is None else at})
            self.emit("invoice.paid", invoice)
        else:
            self.emit("invoice.updated", invoice)

    def fail_payment(self, invoice_id: str) -> None:
        """An attempt to collect the invoice is declined: a failed charge, the invoice stays open."""
        invoice = self.objects["invoice"][invoice_id]
        invoice["attempt_count"] = invoice.get("attempt_count", 0) + 1
        self.emit("charge.failed", self._charge(invoice, invoice["amount_remaining"], "failed"))
        self.emit("invoice.payment_failed", invoice)

    def _paid_charge(self, invoice_id: str) -> dict:
        return next(c for c in reversed(list(self.objects["charge"].values()))
                    if c["invoice"] == invoice_id and c["status"] == "succeeded")

    def refund(self, invoice_id: str, amount: int | None = None) -> None:
        """Money goes back to the tenant from the invoice's last successful charge (the invoice stays paid)."""
        charge = self._paid_charge(invoice_id)
        charge["amount_refunded"] += charge["amount"] - charge["amount_refunded"] if amount is None else amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.emit("charge.refunded", charge)

    def dispute(self, invoice_id: str, status: str = "needs_response") -> dict:
        """The cardholder disputes the invoice's last charge; later calls move the dispute on (won, lost)."""
        charge = self._paid_charge(invoice_id)
        existing = next((d for d in self.objects["dispute"].values() if d["charge"] == charge["id"]), None)
        if existing is None:
            existing = {"id": self._id("du"), "object": "dispute", "created": self.clock, "amount": charge["amount"],
                        "currency": charge["currency"], "charge": charge["id"], "reason": "fraudulent",
                        "status": status}
            self.objects["dispute"][existing["id"]] = existing
            self.emit("charge.dispute.created", existing)
            return existing
        existing["status"] = status
        self.emit("charge.dispute.closed" if status in ("won", "lost") else "charge.dispute.updated", existing)
        return existing

    def finalize(self, invoice_id: str) -> dict:
        invoice = self.objects["invoice"][invoice_id]
        customer = self.objects["customer"][invoice["customer"]]
        applied = min(-customer["balance"], invoice["total"]) if customer["balance"] < 0 else 0
        invoice.update(status="open", starting_balance=customer["balance"], amount_due=invoice["total"] - applied,
                       amount_remaining=invoice["total"] - applied,
                       status_transitions={"finalized_at": self.clock, "paid_at": None})
        customer["balance"] += applied
        invoice["ending_balance"] = customer["balance"]
        self.emit("invoice.finalized", invoice)
        return invoice

    def items_of(self, invoice_id: str) -> list[dict]:
        return [i for i in self.objects["invoiceitem"].values() if i["invoice"] == invoice_id]

    # -- wire ------------------------------------------------------------------------------------------
    def _id(self, prefix: str) -> str:
        self.counters[prefix] += 1
        return f"{prefix}_test{self.counters[prefix]:06d}"

    @staticmethod
    def _json(body: dict, status: int = 200, headers: dict | None = None) -> Response:
        return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)

    def _error(self, status: int, message: str, kind: str = "invalid_request_error", code: str | None = None):
        return self._json({"error": {"type": kind, "message": message, **({"code": code} if code else {})}}, status)

    def _list(self, kind: str, path: str, args, keep: Callable[[dict], bool]) -> Response:
        """Newest first, as Stripe lists; `starting_after` pages on."""
        data = sorted((o for o in self.objects[kind].values() if keep(o)), key=lambda o: (o["created"], o["id"]),
                      reverse=True)
        if args.get("starting_after"):
            ids = [o["id"] for o in data]
            data = data[ids.index(args["starting_after"]) + 1:]
        limit = int(args.get("limit", 10))
        return self._json({"object": "list", "data": data[:limit], "has_more": len(data) > limit, "url": path})

    def _events(self, path: str, args) -> Response:
        """Newest first; with `shuffle_event_pages` each page comes back in a scrambled order (a page
        still holds the right events); `repeat_event` slips an already listed event into the next page."""
        types = set(args.getlist("types[]"))
        since = max(int(args.get("created[gte]", 0)), self.clock - self.event_ttl_s)
        data = [e for e in sorted(self.events, key=lambda e: (e["created"], e["id"]), reverse=True)
                if e["created"] >= since and (not types or e["type"] in types)]
        if args.get("starting_after"):
            ids = [e["id"] for e in data]
            data = data[ids.index(args["starting_after"]) + 1:]
        limit = int(args.get("limit", 10))
        page, has_more = data[:limit], len(data) > limit
        cursor = page[-1]["id"] if page else None  # the page's last event in Stripe's order, whatever is shown
        if self.shuffle_event_pages:
            page = page[1::2] + page[0::2]
        while self.repeats:
            page = page + [next(e for e in self.events if e["id"] == self.repeats.pop())]
        if cursor and page and page[-1]["id"] != cursor:  # the SDK pages on from the last listed object
            page = [e for e in page if e["id"] != cursor] + [next(e for e in self.events if e["id"] == cursor)]
        return self._json({"object": "list", "data": page, "has_more": has_more, "url": path})

    def repeat_event(self, event_id: str) -> None:
        self.repeats.append(event_id)

    def _search(self, kind: str, query: str) -> Response:
        match = re.search(r"metadata\['(\w+)'\]:'([^']*)'", query)
        data = [o for o in self.objects[kind].values() if match and o["metadata"].get(match[1]) == match[2]
                and o["created"] <= self.clock - self.search_lag_s]
        return self._json({"object": "search_result", "data": data, "has_more": False,
                           "url": f"/v1/{kind}s/search", "next_page": None})

    def __call__(self, request: Request) -> Response:
        self.requests.append((request.method, request.path))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(401, "Invalid API Key provided", "invalid_request_error")
        action = self._take_hook("before", request.path)
        if action:
            action(request.path)
        if request.method == "GET":
            return self._get(request)
        key = request.headers.get("Idempotency-Key")
        if not key:
            self.posts_without_key.append(request.path)
            return self._error(400, "this test server requires an Idempotency-Key on every POST")
        fingerprint = json.dumps([request.path, sorted(request.form.items(multi=True))])
        saved = self.idempotency.get(key)
        if saved and saved[0] + self.key_ttl_s > self.clock:
            if saved[1] != fingerprint:
                return self._error(400, "Keys for idempotent requests can only be used with the same parameters "
                                        "they were first used with.", "idempotency_error")
            return Response(saved[3], status=saved[2], content_type="application/json",
                            headers={"Idempotent-Replayed": "true"})
        if self._take_hook("fail_before", request.path):
            response = self._error(500, "An unknown error occurred", "api_error")
        else:
            response = self._post(request.path, unflatten(list(request.form.items(multi=True))))
            if self._take_hook("fail_after", request.path):
                response = self._error(500, "An unknown error occurred", "api_error")
        self.idempotency[key] = (self.clock, fingerprint, response.status_code, response.get_data(as_text=True))
        seconds = self._take_hook("stall", request.path)
        if seconds:
            time.sleep(seconds)  # the work is done; the client will time out and retry
        return response

    def _get(self, request: Request) -> Response:
        path, args = request.path, request.args
        if path in ("/v1/customers/search", "/v1/invoices/search"):
            return self._search(path.split("/")[2][:-1], args.get("query", ""))
        if path == "/v1/customers":
            since = int(args.get("created[gte]", 0))
            return self._list("customer", path, args, lambda o: o["created"] >= since and (
                "email" not in args or o["email"] == args["email"]))
        if path == "/v1/invoices":
            return self._list("invoice", path, args, lambda o: o["customer"] == args.get("customer", o["customer"]))
        if path == "/v1/events":
            return self._events(path, args)
        if path == "/v1/invoiceitems":
            return self._list("invoiceitem", path, args, lambda o: o["invoice"] == args.get("invoice", o["invoice"]))
        if path == "/v1/credit_notes":
            return self._list("credit_note", path, args, lambda o: o["invoice"] == args.get("invoice", o["invoice"]))
        match = re.fullmatch(r"/v1/invoices/(in_\w+)", path)
        if match and match[1] in self.objects["invoice"]:
            return self._json(self.objects["invoice"][match[1]])
        return self._error(404, f"No such resource: {path}", code="resource_missing")

    def _post(self, path: str, params: dict) -> Response:
        if path == "/v1/customers":
            customer = {"id": self._id("cus"), "object": "customer", "created": self.clock, "name": params.get("name"),
                        "email": params.get("email"), "balance": 0, "metadata": params.get("metadata", {})}
            self.objects["customer"][customer["id"]] = customer
            return self._json(customer)
        if path == "/v1/invoices":
            if params.get("customer") not in self.objects["customer"]:
                return self._error(400, "No such customer", code="resource_missing")
            invoice = {"id": self._id("in"), "object": "invoice", "created": self.clock, "customer": params["customer"],
                       "status": "draft", "currency": params.get("currency"), "total": 0, "amount_due": 0,
                       "amount_paid": 0, "amount_remaining": 0, "starting_balance": 0, "ending_balance": None,
                       "pre_payment_credit_notes_amount": 0, "post_payment_credit_notes_amount": 0,
                       "metadata": params.get("metadata", {}),
                       "status_transitions": {"finalized_at": None, "paid_at": None}}
            self.objects["invoice"][invoice["id"]] = invoice
            return self._json(invoice)
        if path == "/v1/invoiceitems":
            invoice = self.objects["invoice"].get(params.get("invoice", ""))
            if invoice is None:
                return self._error(404, "No such invoice", code="resource_missing")
            if invoice["status"] != "draft":
                return self._error(400, "You can only add invoice items to draft invoices.",
                                   code="invoice_not_editable")
            item = {"id": self._id("ii"), "object": "invoiceitem", "created": self.clock, "amount": int(params["amount"]),
                    "invoice": invoice["id"], "description": params.get("description"),
                    "metadata": params.get("metadata", {})}
            self.objects["invoiceitem"][item["id"]] = item
            invoice["total"] += item["amount"]
            invoice["amount_due"] = invoice["amount_remaining"] = invoice["total"]
            return self._json(item)
        match = re.fullmatch(r"/v1/invoices/(in_\w+)/finalize", path)
        if match and match[1] in self.objects["invoice"]:
            if self.objects["invoice"][match[1]]["status"] != "draft":
                return self._error(400, "This invoice is already finalized, you can't re-finalize a non-draft "
                                        "invoice.", code="invoice_already_finalized")
            return self._json(self.finalize(match[1]))
        if path == "/v1/credit_notes":
            return self._credit_note(params)
        return self._error(404, f"Unrecognized request URL (POST: {path})")

    def _credit_note(self, params: dict) -> Response:
        invoice = self.objects["invoice"].get(params.get("invoice", ""))
        if invoice is None or invoice["status"] in ("draft", "void"):
            return self._error(400, "credit notes need a finalized invoice")
        total = sum(int(line["unit_amount"]) * int(line.get("quantity", 1)) for line in params.get("lines", []))
        pre = min(total, invoice["amount_remaining"])
        outside = sum(int(params.get(f, 0)) for f in ("credit_amount", "refund_amount", "out_of_band_amount"))
        if outside != total - pre:
            return self._error(400, f"The sum of credit_amount, refund_amount and out_of_band_amount ({outside}) must "
                                    f"equal the post-payment amount of the credit note ({total - pre}).")
        note = {"id": self._id("cn"), "object": "credit_note", "created": self.clock, "invoice": invoice["id"],
                "total": total, "pre_payment_amount": pre, "post_payment_amount": total - pre,
                "memo": params.get("memo"), "metadata": params.get("metadata", {})}
        self.objects["credit_note"][note["id"]] = note
        invoice["pre_payment_credit_notes_amount"] += pre
        invoice["post_payment_credit_notes_amount"] += total - pre
        invoice["amount_due"] -= pre
        invoice["amount_remaining"] -= pre
        if invoice["status"] == "open" and invoice["amount_remaining"] == 0:  # nothing left to pay: settled
            invoice.update(status="paid", status_transitions={**invoice["status_transitions"], "paid_at": self.clock})
        self.objects["customer"][invoice["customer"]]["balance"] -= int(params.get("credit_amount", 0))
        self.emit("credit_note.created", note)
        self.emit("invoice.paid" if invoice["status"] == "paid" and pre else "invoice.updated", invoice)
        return self._json(note)
