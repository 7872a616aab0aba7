"""Xero's Accounting API over plain `requests`: the few calls the books need, exactly once.

Plain requests rather than the `xero-python` SDK: the stack is fixed (requests is already the HTTP
client of every other integration here), and the SDK would add a generated client whose retries,
rate limiting and idempotency we would still have to wrap. What we need from Xero is small:

- OAuth2 client credentials (a custom connection): a token from the identity endpoint, refreshed a
  minute before it expires or at once when Xero answers 401 (TokenExpired).
- At most `calls_per_minute` requests in any 60 s (Xero allows 60 per organisation), and a 429's
  `Retry-After` honoured; 5xx and dropped connections retried with backoff.
- Every create carries an `Idempotency-Key` derived from the document and its content, so a create
  sent again after a lost answer returns the first one's result instead of a second document. And
  before creating, documents are looked up by number (paged lists), so a re-run days later, when
  Xero has forgotten the key, still finds what the lost answer created.
- Totals Xero computed are compared with ours to the cent; a difference fails that document with
  both figures.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import requests

from billing_assets.books.finance_service import FinanceServiceError, Imported
from billing_assets.books.xero_payloads import decimal_number

API_URL = "https://api.xero.com/api.xro/2.0"
TOKEN_URL = "https://identity.xero.com/connect/token"
SCOPES = "accounting.transactions accounting.contacts"
BATCH = 40  # numbers per lookup: Xero's query strings stop working past ~50 ids


class XeroError(FinanceServiceError):
    """A Xero call that did not go through; `permanent` when repeating it cannot help."""


class RateLimiter:
    """At most `per_minute` calls in any 60 s window (sliding), waiting as needed."""

    def __init__(self, per_minute: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._per_minute, self._clock, self._sleep = per_minute, clock, sleep
        self._calls: deque[float] = deque()

    def acquire(self) -> None:
        now = self._clock()
        while self._calls and now - self._calls[0] >= 60:
            self._calls.popleft()
        if len(self._calls) >= self._per_minute:
            self._sleep(60 - (now - self._calls[0]))
            self._calls.popleft()
        self._calls.append(max(now, self._clock()))


@dataclass
class Settings:
    client_id: str
    client_secret: str
    tenant_id: str | None = None
    api_url: str = API_URL
    token_url: str = TOKEN_URL
    scopes: str = SCOPES
    timeout_s: float = 30.0
    max_retries: int = 3
    backoff_s: float = 1.0
    calls_per_minute: int = 60


class XeroClient:
    def __init__(self, settings: Settings, session: requests.Session | None = None,
                 limiter: RateLimiter | None = None):
        self._s = settings
        self._session = session or requests.Session()
        self._limiter = limiter or RateLimiter(settings.calls_per_minute)
        self._token: str | None = None
        self._token_expires = 0.0
        self.calls = 0  # requests sent to the API (not the identity endpoint), for run metadata

    # --- authentication --------------------------------------------------------------------------
    def _access_token(self) -> str:
        if self._token is None or time.monotonic() > self._token_expires - 60:
            try:
                response = self._session.post(self._s.token_url, data={"grant_type": "client_credentials",
                                                                       "scope": self._s.scopes},
                                              auth=(self._s.client_id, self._s.client_secret), timeout=self._s.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise XeroError(f"Xero's identity endpoint did not answer ({type(exc).__name__})", permanent=False) \
                    from None
            if response.status_code != 200:
                raise XeroError(f"Xero refused the client credentials (HTTP {response.status_code}: "
                                f"{response.text[:200]}): check XERO_CLIENT_ID and XERO_CLIENT_SECRET", permanent=True)
            body = response.json()
            self._token, self._token_expires = body["access_token"], time.monotonic() + float(body["expires_in"])
        return self._token

    # --- one request, with every fault that can heal healed ----------------------------------------
    def request(self, method: str, path: str, what: str, *, params: dict | None = None, body: dict | None = None,
                idempotency_key: str | None = None) -> dict:
        problem = ""
        refreshed = False
        for attempt in range(self._s.max_retries + 1):
            headers = {"Authorization": f"Bearer {self._access_token()}", "Accept": "application/json"}
            if self._s.tenant_id:
                headers["xero-tenant-id"] = self._s.tenant_id
            if idempotency_key:
                headers["Idempotency-Key"] = idempotency_key
            wait = self._s.backoff_s * 2 ** attempt
            self._limiter.acquire()
            self.calls += 1
            try:
                response = self._session.request(method, self._s.api_url + path, params=params, json=body,
                                                 headers=headers, timeout=self._s.timeout_s)
            except (requests.ConnectionError, requests.Timeout) as exc:
                # Safe to repeat: reads change nothing, and every create carries its idempotency key.
                problem = f"{type(exc).__name__} (sent again with the same Idempotency-Key)"
            else:
                if response.status_code == 200:
                    return response.json()
                if response.status_code == 401 and not refreshed:
                    self._token, refreshed = None, True  # expired or revoked: one new token, then again
                    problem = "HTTP 401 (token refreshed)"
                    continue
                if response.status_code == 400:
                    raise XeroError(f"{what}: Xero refused it: {validation_messages(response)}", permanent=True)
                if response.status_code == 429 or response.status_code >= 500:
                    problem = f"HTTP {response.status_code} {response.headers.get('X-Rate-Limit-Problem', '')}".strip()
                    wait = max(wait, float(response.headers.get("Retry-After") or 0))
                else:
                    raise XeroError(f"{what}: HTTP {response.status_code} from Xero: {response.text[:300]}",
                                    permanent=True)
            if attempt < self._s.max_retries:
                time.sleep(wait)
        raise XeroError(f"{what}: giving up after {self._s.max_retries + 1} attempts: {problem}", permanent=False)

    def pages(self, path: str, collection: str, params: dict) -> Iterator[dict]:
        """Every item of a paged list, following `pagination.pageCount` (or a short page) to the end."""
        page = 1
        while True:
            body = self.request("GET", path, f"listing {collection}", params={**params, "page": page})
            items = body.get(collection) or []
            yield from items
            count = (body.get("pagination") or {}).get("pageCount")
            if (count is not None and page >= count) or (count is None and len(items) < 100) or not items:
                return
            page += 1

    def find(self, path: str, collection: str, field: str, values: list[str], **params: str) -> dict[str, dict]:
        """Items whose `field` is one of `values`, in batches, keyed by that field."""
        found: dict[str, dict] = {}
        for i in range(0, len(values), BATCH):
            batch = values[i:i + BATCH]
            if field == "InvoiceNumber":
                query = {"InvoiceNumbers": ",".join(batch), **params}
            else:
                query = {"where": " OR ".join(f'{field}=="{_quoted(v)}"' for v in batch), **params}
            for item in self.pages(path, collection, query):
                if item.get(field) in batch:
                    found[item[field]] = item
        return found


def _quoted(value: str) -> str:
    if '"' in value or "\\" in value:
        raise XeroError(f"{value!r} cannot be looked up in Xero (quote or backslash)", permanent=True)
    return value


def validation_messages(response: requests.Response) -> str:
    """Xero's ValidationException as one line: every element's messages."""
    try:
        body = response.json()
    except ValueError:
        return f"HTTP 400 {response.text[:300]}"
    messages = dict.fromkeys(error.get("Message", "") for element in body.get("Elements") or []
                             for error in element.get("ValidationErrors") or [])
    listed = [m for m in messages if m][:5]
    more = f" (and {len(messages) - 5} more)" if len(messages) > 5 else ""
    return "; ".join(listed) + more if listed else body.get("Message") or body.get("Detail") or "HTTP 400"


def money(value: object) -> Decimal:
    return Decimal(str(value))


@dataclass
class XeroDocument:
    """What `XeroBooks.send` needs besides the body: which collection, its number, our totals."""
    collection: str  # Invoices | CreditNotes
    number: str
    body: dict
    total: Decimal
    tax: Decimal
    allocate_to: str | None = None  # a credit note's invoice number


class XeroBooks:
    """Contacts resolved once per run, documents looked up by number before any create."""

    def __init__(self, client: XeroClient):
        self.client = client
        self._contacts: dict[str, str] = {}
        self._existing: dict[tuple[str, str], dict] = {}
        self.notes: list[str] = []

    def ensure_contacts(self, contacts: list[dict]) -> None:
        wanted = {c["ContactNumber"]: c for c in contacts if c["ContactNumber"] not in self._contacts}
        if not wanted:
            return
        found = self.client.find("/Contacts", "Contacts", "ContactNumber", sorted(wanted))
        for number, contact in wanted.items():
            if number not in found:
                created = self.client.request("PUT", "/Contacts", f"contact {contact['Name']}",
                                              body={"Contacts": [contact]},
                                              idempotency_key=f"contact-{number}")["Contacts"][0]
                found[number] = created
            self._contacts[number] = found[number]["ContactID"]

    def contact_id(self, number: str) -> str:
        return self._contacts[number]

    def look_up(self, wanted: list[tuple[str, str]]) -> None:
        """Find the (collection, number) documents Xero already holds, in batched, paged lists."""
        for collection, field in (("Invoices", "InvoiceNumber"), ("CreditNotes", "CreditNoteNumber")):
            numbers = sorted({n for c, n in wanted if c == collection and n and (c, n) not in self._existing})
            if numbers:
                for number, item in self.client.find("/" + collection, collection, field, numbers).items():
                    self._existing[(collection, number)] = item

    def send(self, doc: XeroDocument, idempotency_key: str) -> Imported:
        existing = self._existing.get((doc.collection, doc.number))
        singular = doc.collection[:-1]
        what = f"{singular} {doc.number}"
        if existing:
            item_id = existing[f"{singular}ID"]
            saved = self.client.request("POST", f"/{doc.collection}/{item_id}", what,
                                        body={doc.collection: [{**doc.body, f"{singular}ID": item_id}]})
            action = "updated"
        else:
            saved = self.client.request("PUT", f"/{doc.collection}", what, body={doc.collection: [doc.body]},
                                        idempotency_key=idempotency_key)
            action = "created"
        item = saved[doc.collection][0]
        self._existing[(doc.collection, doc.number)] = item
        theirs = (money(item["Total"]), money(item["TotalTax"]))
        if theirs != (doc.total, doc.tax):
            raise XeroError(f"{what}: Xero's totals differ from ours: Xero total {theirs[0]} / tax {theirs[1]}, "
                            f"ours total {doc.total} / tax {doc.tax}", permanent=True)
        if doc.allocate_to:
            self._allocate(item, doc)
        return Imported(item[f"{singular}ID"], action)

    def _allocate(self, credit_note: dict, doc: XeroDocument) -> None:
        """The credit note set against the invoice it corrects, up to what that invoice still owes
        (a paid invoice leaves the credit on the tenant's account, said in the run's notes)."""
        remaining = money(credit_note.get("RemainingCredit", credit_note["Total"]))
        if remaining <= 0:
            return
        invoice = self._existing.get(("Invoices", doc.allocate_to))
        if invoice is None:
            raise XeroError(f"credit note {doc.number} corrects {doc.allocate_to}, which is not in Xero: push that "
                            "invoice's month first", permanent=True)
        amount = min(remaining, money(invoice.get("AmountDue", invoice["Total"])))
        if amount <= 0:
            self.notes.append(f"{doc.number}: {doc.allocate_to} is already paid; the credit stays on the account")
            return
        self.client.request("PUT", f"/CreditNotes/{credit_note['CreditNoteID']}/Allocations",
                            f"allocating {doc.number} to {doc.allocate_to}",
                            body={"Allocations": [{"Amount": decimal_number(amount), "Date": doc.body["Date"],
                                                   "Invoice": {"InvoiceID": invoice["InvoiceID"]}}]},
                            idempotency_key=f"allocate-{credit_note['CreditNoteID']}-{invoice['InvoiceID']}")
        invoice["AmountDue"] = money(invoice.get("AmountDue", invoice["Total"])) - amount
