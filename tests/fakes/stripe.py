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

Test hooks: `advance(seconds)` moves the clock (past the key window: `advance(DAY + 1)`);
`stall_after(path, s)` does the work and then sleeps past the client's timeout (a lost answer);
`fail_after(path)` does the work and answers 500, `fail_before(path)` answers 500 without acting
(both saved for the key, as Stripe saves any request that started executing); `before(path, fn)`
runs `fn(path)` just before the next matching request (another actor moving first).
"""

from __future__ import annotations

import json
import re
import time
from collections import defaultdict
from collections.abc import Callable

from werkzeug import Request, Response

DAY = 24 * 3600
START = 1780000000


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
    def __init__(self, api_key: str, key_ttl_s: int = DAY, search_lag_s: int = 5) -> None:
        self.api_key = api_key
        self.key_ttl_s, self.search_lag_s = key_ttl_s, search_lag_s
        self.clock = START
        self.objects: dict[str, dict[str, dict]] = defaultdict(dict)
        self.idempotency: dict[str, tuple[int, str, int, str]] = {}  # key -> (saved at, request, status, body)
        self.counters: dict[str, int] = defaultdict(int)
        self.posts_without_key: list[str] = []
        self.hooks: list[tuple[str, str, object]] = []  # (kind, path pattern, argument), each used once
        self.requests: list[tuple[str, str]] = []

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

    def pay(self, invoice_id: str, amount: int | None = None, at: int = START) -> None:
        """The tenant pays `amount` (all that remains by default); paid in full moves it to paid."""
        invoice = self.objects["invoice"][invoice_id]
        amount = invoice["amount_remaining"] if amount is None else amount
        invoice["amount_paid"] += amount
        invoice["amount_remaining"] -= amount
        if invoice["amount_remaining"] == 0:
            invoice.update(status="paid", status_transitions={**invoice["status_transitions"], "paid_at": at})

    def finalize(self, invoice_id: str) -> dict:
        invoice = self.objects["invoice"][invoice_id]
        customer = self.objects["customer"][invoice["customer"]]
        applied = min(-customer["balance"], invoice["total"]) if customer["balance"] < 0 else 0
        invoice.update(status="open", starting_balance=customer["balance"], amount_due=invoice["total"] - applied,
                       amount_remaining=invoice["total"] - applied,
                       status_transitions={"finalized_at": self.clock, "paid_at": None})
        customer["balance"] += applied
        invoice["ending_balance"] = customer["balance"]
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
        return self._json(note)
