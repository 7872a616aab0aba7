"""A local HTTP server speaking the part of Xero's Accounting API (and its identity endpoint) that the
books use, with Xero's JSON shapes, validation errors and limits.

- `POST /connect/token`: client credentials (HTTP basic auth) -> `{"access_token", "expires_in",
  "token_type": "Bearer"}`. A token past its lifetime gets 401 `{"Title": "Unauthorized", "Detail":
  "TokenExpired: ..."}`.
- `GET /api.xro/2.0/{Contacts,Invoices,CreditNotes}` with `page` (pages of `page_size`) and a
  `pagination` object; `InvoiceNumbers=a,b` and `where=Field=="x" OR Field=="y"` filters.
- `PUT` creates (`{"Contacts"|"Invoices"|"CreditNotes": [...]}`), `POST .../{id}` updates,
  `PUT /CreditNotes/{id}/Allocations`.
- Validation as Xero answers it: 400 `{"ErrorNumber": 10, "Type": "ValidationException", "Elements":
  [{"ValidationErrors": [{"Message": ...}]}]}` for an unknown account code or tax type, a contact that
  does not exist, a duplicate number, a line whose LineAmount is not Quantity x UnitAmount, more
  decimals than the currency has, an allocation larger than what is due.
- Amounts are read as exact decimals (JSON parsed with Decimal) and totals computed as Xero does:
  a line's tax is its `TaxAmount` when given, else LineAmount x the tax type's rate, rounded.
- `Idempotency-Key`: a create repeated with a key already seen returns the first answer and creates
  nothing.
- At most `calls_per_minute` API calls in any 60 s; beyond that 429 with `Retry-After` and
  `X-Rate-Limit-Problem: minute`.

Test hooks: `rate_limit_next(n)` answers the next n API calls 429 (Retry-After 1);
`expire_tokens_after(n)` expires every issued token after n more calls; `drop_after_create(collection)` stores the next
create, then stalls past the client's timeout (the answer is lost); `tax_per_line = True` ignores the
TaxAmount we send and rounds each line's tax itself (to prove a difference fails the push).
"""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections import deque
from decimal import ROUND_HALF_UP, Decimal

from werkzeug import Request, Response

API = "/api.xro/2.0"
TAX_RATES = {"INPUT": Decimal("0.10"), "OUTPUT": Decimal("0.10"), "EXEMPTEXPORT": Decimal(0),
             "EXEMPTEXPENSES": Decimal(0), "EXEMPTOUTPUT": Decimal(0), "BASEXCLUDED": Decimal(0)}
DECIMALS = {"JPY": 0}
SINGULAR = {"Contacts": "Contact", "Invoices": "Invoice", "CreditNotes": "CreditNote"}
NUMBER = {"Invoices": "InvoiceNumber", "CreditNotes": "CreditNoteNumber", "Contacts": "ContactNumber"}


class Invalid(Exception):
    pass


def _number(value: Decimal) -> float:
    return float(value)


class FakeXero:
    def __init__(self, client_id: str, client_secret: str, *, accounts: set[str] | None = None,
                 tax_rates: dict[str, Decimal] | None = None, page_size: int = 100, token_ttl: int = 1800,
                 calls_per_minute: int = 60):
        self.client_id, self.client_secret = client_id, client_secret
        self.accounts = accounts or {"200", "310"}
        self.tax_rates = {**TAX_RATES, **(tax_rates or {})}
        self.page_size, self.token_ttl, self.calls_per_minute = page_size, token_ttl, calls_per_minute
        self.items: dict[str, dict[str, dict]] = {"Contacts": {}, "Invoices": {}, "CreditNotes": {}}
        self.creates: list[tuple[str, str]] = []  # (collection, number) of every document actually created
        self.calls: list[tuple[str, str]] = []  # (method, path) of every API call answered
        self.tokens: dict[str, float] = {}
        self.refusals: list[int] = []  # 401s and 429s answered, in order
        self.replays = 0  # creates answered from an Idempotency-Key already seen
        self.tax_per_line = False
        self._keys: dict[str, dict] = {}
        self._recent: deque[float] = deque()
        self._throttle = 0
        self._drop: set[str] = set()
        self._expire_after: int | None = None

    # --- test hooks ------------------------------------------------------------------------------
    def rate_limit_next(self, n: int = 1) -> None:
        self._throttle += n

    def expire_tokens_after(self, calls: int) -> None:
        """Every token issued so far expires once `calls` more API calls have been answered (mid-run)."""
        self._expire_after = calls

    def drop_after_create(self, collection: str) -> None:
        self._drop.add(collection)

    def held(self, kind: str) -> dict[str, dict]:
        """number -> document, for one Type (ACCPAY, ACCREC, ACCRECCREDIT)."""
        collection = "CreditNotes" if kind.endswith("CREDIT") else "Invoices"
        return {d[NUMBER[collection]]: d for d in self.items[collection].values() if d["Type"] == kind}

    # --- wire ------------------------------------------------------------------------------------
    @staticmethod
    def _json(status: int, body: dict, headers: dict | None = None) -> Response:
        return Response(json.dumps(body, default=_number), status=status, content_type="application/json",
                        headers=headers)

    def _invalid(self, messages: list[str]) -> Response:
        return self._json(400, {"ErrorNumber": 10, "Type": "ValidationException",
                                "Message": "A validation exception occurred",
                                "Elements": [{"ValidationErrors": [{"Message": m} for m in messages]}]})

    def __call__(self, request: Request) -> Response:
        if request.path == "/connect/token":
            return self._token(request)
        if not request.path.startswith(API):
            return self._json(404, {"Title": "Not found"})
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self.tokens:
            return self._json(401, {"Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful"})
        if self.tokens[token] < time.monotonic():
            self.refusals.append(401)
            return self._json(401, {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired"},
                              {"WWW-Authenticate": 'Bearer error="invalid_token"'})
        now = time.monotonic()
        while self._recent and now - self._recent[0] >= 60:
            self._recent.popleft()
        if self._throttle or len(self._recent) >= self.calls_per_minute:
            self._throttle = max(0, self._throttle - 1)
            self.refusals.append(429)
            return self._json(429, {"Title": "Too many requests"}, {"Retry-After": "1",
                                                                    "X-Rate-Limit-Problem": "minute"})
        self._recent.append(now)
        if self._expire_after is not None:
            self._expire_after -= 1
            if self._expire_after < 0:
                self.tokens, self._expire_after = {token: 0.0 for token in self.tokens}, None
                self.refusals.append(401)
                return self._json(401, {"Title": "Unauthorized", "Status": 401, "Detail": "TokenExpired: token expired"})
        path = request.path.removeprefix(API)
        self.calls.append((request.method, path))
        key = request.headers.get("Idempotency-Key")
        if key and key in self._keys:
            self.replays += 1
            return self._json(200, self._keys[key])
        try:
            body = self._route(request, path)
        except Invalid as exc:
            return self._invalid(list(exc.args))
        except KeyError as exc:
            return self._json(404, {"Title": "Not found", "Detail": str(exc)})
        if key:
            self._keys[key] = body
        collection = path.strip("/").split("/")[0]
        if request.method == "PUT" and collection in self._drop:
            self._drop.discard(collection)
            time.sleep(2.5)  # stored; the client has given up waiting: its answer is lost
        return self._json(200, body)

    def _token(self, request: Request) -> Response:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return self._json(400, {"error": "invalid_client"})
        if request.form.get("grant_type") != "client_credentials":
            return self._json(400, {"error": "unsupported_grant_type"})
        token = uuid.uuid4().hex
        self.tokens[token] = time.monotonic() + self.token_ttl
        return self._json(200, {"access_token": token, "expires_in": self.token_ttl, "token_type": "Bearer",
                                "scope": request.form.get("scope", "")})

    def _route(self, request: Request, path: str) -> dict:
        parts = path.strip("/").split("/")
        collection = parts[0]
        if collection not in self.items:
            raise KeyError(path)
        if request.method == "GET":
            return self._list(collection, request.args)
        payload = json.loads(request.get_data(), parse_float=Decimal)
        if len(parts) == 3 and parts[2] == "Allocations" and request.method == "PUT":
            return self._allocate(parts[1], payload["Allocations"][0])
        (item,) = payload[collection]
        if len(parts) == 1 and request.method in ("PUT", "POST"):
            return {collection: [self._save(collection, item, None)]}
        if len(parts) == 2 and request.method == "POST":
            return {collection: [self._save(collection, item, self.items[collection][parts[1]])]}
        raise KeyError(path)

    def _list(self, collection: str, args) -> dict:
        rows = list(self.items[collection].values())
        if numbers := args.get("InvoiceNumbers"):
            rows = [r for r in rows if r.get("InvoiceNumber") in numbers.split(",")]
        if where := args.get("where"):
            terms = re.findall(r'(\w+)=="([^"]*)"', where)
            rows = [r for r in rows if any(str(r.get(field)) == value for field, value in terms)]
        page = int(args.get("page", 1))
        count = max(1, -(-len(rows) // self.page_size))
        chunk = rows[(page - 1) * self.page_size:page * self.page_size]
        return {"Status": "OK", "pagination": {"page": page, "pageSize": self.page_size, "pageCount": count,
                                               "itemCount": len(rows)}, collection: chunk}

    # --- documents -------------------------------------------------------------------------------
    def _save(self, collection: str, item: dict, existing: dict | None) -> dict:
        if collection == "Contacts":
            if not item.get("Name"):
                raise Invalid("The contact name must be specified.")
            if any(c["Name"] == item["Name"] for c in self.items["Contacts"].values()):
                raise Invalid(f"The contact name {item['Name']} is already assigned to another contact. "
                              "The contact name must be unique across all active contacts.")
            contact = {**item, "ContactID": str(uuid.uuid4()), "ContactStatus": "ACTIVE"}
            self.items["Contacts"][contact["ContactID"]] = contact
            self.creates.append(("Contacts", item.get("ContactNumber", "")))
            return contact
        number_field = NUMBER[collection]
        number = item.get(number_field)
        problems = self._validate(collection, item, number_field, existing)
        if problems:
            raise Invalid(*problems)
        places = Decimal(1).scaleb(-DECIMALS.get(item["CurrencyCode"], 2))
        lines, sub, tax = [], Decimal(0), Decimal(0)
        for line in item["LineItems"]:
            rate = self.tax_rates[line["TaxType"]]
            line_tax = line.get("TaxAmount")
            if line_tax is None or self.tax_per_line:
                line_tax = (line["LineAmount"] * rate).quantize(places, ROUND_HALF_UP)
            lines.append({**line, "TaxAmount": line_tax, "LineItemID": str(uuid.uuid4())})
            sub += line["LineAmount"]
            tax += line_tax
        doc = {**item, "LineItems": lines, "SubTotal": sub, "TotalTax": tax, "Total": sub + tax,
               "Contact": self.items["Contacts"][item["Contact"]["ContactID"]]}
        if existing:
            doc[f"{SINGULAR[collection]}ID"] = existing[f"{SINGULAR[collection]}ID"]
            allocated = existing.get("Allocated", Decimal(0))
        else:
            doc[f"{SINGULAR[collection]}ID"] = str(uuid.uuid4())
            allocated = Decimal(0)
            self.creates.append((collection, number))
        doc["Allocated"] = allocated
        doc["AmountDue" if collection == "Invoices" else "RemainingCredit"] = doc["Total"] - allocated
        self.items[collection][doc[f"{SINGULAR[collection]}ID"]] = doc
        return doc

    def _validate(self, collection: str, item: dict, number_field: str, existing: dict | None) -> list[str]:
        problems = []
        kinds = ("ACCREC", "ACCPAY") if collection == "Invoices" else ("ACCRECCREDIT", "ACCPAYCREDIT")
        if item.get("Type") not in kinds:
            problems.append(f"Type must be one of {', '.join(kinds)}")
        if item.get("Contact", {}).get("ContactID") not in self.items["Contacts"]:
            problems.append("The Contact must contain at least 1 of the following elements to identify the "
                            "contact: Name, ContactID, ContactNumber")
        number = item.get(number_field)
        clash = [d for d in self.items[collection].values() if d.get(number_field) == number
                 and d["Type"] == item.get("Type") and d is not existing]
        if number and clash and item.get("Type") != "ACCPAY":
            problems.append(f"{'Invoice' if collection == 'Invoices' else 'Credit Note'} # must be unique.")
        if existing and existing.get("Allocated") and collection == "Invoices":
            problems.append("Invoice not of valid status for modification")
        if collection == "Invoices" and item.get("Status") == "AUTHORISED" and not item.get("DueDate"):
            problems.append("Due Date is mandatory for approved invoices")
        if not item.get("LineItems"):
            problems.append("At least one line item is required")
        digits = DECIMALS.get(item.get("CurrencyCode", ""), 2)
        for line in item.get("LineItems", []):
            if line.get("AccountCode") not in self.accounts:
                problems.append(f"Account code '{line.get('AccountCode')}' is not a valid code for this document.")
            if line.get("TaxType") not in self.tax_rates:
                problems.append(f"The TaxType code '{line.get('TaxType')}' does not exist or cannot be used for this "
                                "type of transaction.")
            for field in ("UnitAmount", "LineAmount", "TaxAmount"):
                value = line.get(field)
                if value is not None and (not isinstance(value, Decimal | int)
                                          or Decimal(value).as_tuple().exponent < -max(digits, 0)):
                    problems.append(f"{field} {value} has more decimal places than {item.get('CurrencyCode')} allows")
            if Decimal(line.get("Quantity", 1)) * Decimal(line.get("UnitAmount", 0)) != line.get("LineAmount"):
                problems.append(f"Line amount {line.get('LineAmount')} is not Quantity x UnitAmount")
        return problems

    def _allocate(self, credit_note_id: str, allocation: dict) -> dict:
        note = self.items["CreditNotes"][credit_note_id]
        invoice = self.items["Invoices"][allocation["Invoice"]["InvoiceID"]]
        amount = allocation["Amount"]
        if note.get("Status") != "AUTHORISED" or invoice.get("Status") != "AUTHORISED":
            raise Invalid("Only AUTHORISED documents can be allocated")
        if amount > note["RemainingCredit"] or amount > invoice["AmountDue"]:
            raise Invalid("The amount allocated exceeds the outstanding amount")
        if note["CurrencyCode"] != invoice["CurrencyCode"]:
            raise Invalid("The credit note and invoice must be in the same currency")
        note["RemainingCredit"] -= amount
        note["Allocated"] = note.get("Allocated", Decimal(0)) + amount
        invoice["AmountDue"] -= amount
        invoice["Allocated"] = invoice.get("Allocated", Decimal(0)) + amount
        note.setdefault("Allocations", []).append({"Amount": amount, "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                                                   "Date": allocation.get("Date")})
        return {"Allocations": [{"Amount": amount, "Invoice": {"InvoiceID": invoice["InvoiceID"]},
                                 "CreditNote": {"CreditNoteID": credit_note_id}}]}
