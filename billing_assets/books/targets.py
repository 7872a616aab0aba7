"""The two places the books can go, behind one shape: what is sent for a document (hashed, so an
unchanged document is not sent again), what to do once before sending a batch, and the send itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from billing_assets.books.finance_service import FinanceServiceClient, Imported
from billing_assets.books.payloads import Payable, Receivable, payable_payload, receivable_payload
from billing_assets.books.resources import FinanceResource
from billing_assets.books.xero import Settings, XeroBooks, XeroClient, XeroDocument, XeroError
from billing_assets.books.xero_payloads import (
    DIGITALOCEAN_CONTACT,
    XeroMapping,
    XeroMappingError,
    bill,
    bill_number,
    sales_document,
    tenant_contact,
)
from billing_assets.money import minor_to_major


@dataclass(frozen=True)
class Outgoing:
    """One document for the books: a DigitalOcean bill (payable) or an issued tenant document."""
    document_id: str
    label: str
    source: Payable | Receivable
    total_minor: int
    tax_minor: int

    @property
    def period_start(self):
        return self.source.period_start

    @property
    def currency(self) -> str:
        return self.source.currency


class Target(Protocol):
    notes: list[str]  # what the operator should know that is not a failure

    def payload(self, doc: Outgoing) -> dict: ...

    def prepare(self, docs: list[Outgoing]) -> None: ...

    def send(self, doc: Outgoing, payload: dict, digest: str) -> Imported: ...


class FinanceServiceTarget:
    def __init__(self, finance: FinanceResource):
        self.notes: list[str] = []
        self._client = FinanceServiceClient(finance.url, finance.jwt_secret, finance.timeout_s, finance.max_retries,
                                            finance.backoff_s)

    def payload(self, doc: Outgoing) -> dict:
        return payable_payload(doc.source) if isinstance(doc.source, Payable) else receivable_payload(doc.source)

    def prepare(self, docs: list[Outgoing]) -> None:
        """Nothing: the service is idempotent on the document's external id."""

    def send(self, doc: Outgoing, payload: dict, digest: str) -> Imported:
        send = self._client.import_payable if isinstance(doc.source, Payable) else self._client.import_receivable
        return send(payload)


class XeroTarget:
    """ACCPAY bills against the DigitalOcean contact; ACCREC / ACCRECCREDIT against one contact per
    tenant. The payload names its contact by ContactNumber until it is sent, so its hash does not
    depend on Xero's ids."""

    def __init__(self, finance: FinanceResource):
        self.mapping = XeroMapping.parse(finance.xero_account_codes, finance.xero_tax_types)
        self.client = XeroClient(Settings(
            client_id=finance.xero_client_id, client_secret=finance.xero_client_secret,
            tenant_id=finance.xero_tenant_id, api_url=finance.xero_api_url, token_url=finance.xero_token_url,
            timeout_s=finance.timeout_s, max_retries=finance.max_retries, backoff_s=finance.backoff_s,
            calls_per_minute=finance.xero_calls_per_minute))
        self.books = XeroBooks(self.client)
        self.notes = self.books.notes

    @staticmethod
    def _contact(doc: Outgoing) -> dict:
        return DIGITALOCEAN_CONTACT if isinstance(doc.source, Payable) else tenant_contact(doc.source)

    def payload(self, doc: Outgoing) -> dict:
        try:
            contact = {"ContactNumber": self._contact(doc)["ContactNumber"]}
            if isinstance(doc.source, Payable):
                return bill(doc.source, self.mapping, contact)
            return sales_document(doc.source, self.mapping, contact)
        except XeroMappingError as exc:
            raise XeroError(str(exc), permanent=True) from None

    def _document(self, doc: Outgoing, payload: dict) -> XeroDocument:
        credit = payload["Type"] == "ACCRECCREDIT"
        sign = -1 if credit else 1
        number = payload["CreditNoteNumber"] if credit else payload["InvoiceNumber"]
        body = {**payload, "Contact": {"ContactID": self.books.contact_id(payload["Contact"]["ContactNumber"])}}
        return XeroDocument("CreditNotes" if credit else "Invoices", number, body,
                            minor_to_major(sign * doc.total_minor, doc.currency),
                            minor_to_major(sign * doc.tax_minor, doc.currency),
                            allocate_to=doc.source.corrects_invoice_number if credit else None)

    def prepare(self, docs: list[Outgoing]) -> None:
        self.books.ensure_contacts(list({c["ContactNumber"]: c for c in map(self._contact, docs)}.values()))
        self.books.look_up([pair for doc in docs for pair in _numbers(doc.source)])

    def send(self, doc: Outgoing, payload: dict, digest: str) -> Imported:
        return self.books.send(self._document(doc, payload), f"{doc.document_id}-{digest[:32]}")


def _numbers(source: Payable | Receivable) -> list[tuple[str, str]]:
    """(collection, number) of what a document is in Xero, and of the invoice a credit note settles."""
    if isinstance(source, Payable):
        return [("Invoices", bill_number(source))]
    if source.document_type == "credit_note":
        return [("CreditNotes", source.invoice_number), ("Invoices", source.corrects_invoice_number)]
    return [("Invoices", source.invoice_number)]


def target_for(finance: FinanceResource) -> Target:
    return XeroTarget(finance) if finance.target == "xero" else FinanceServiceTarget(finance)
