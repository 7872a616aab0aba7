"""Our documents as Xero Accounting API bodies: a DigitalOcean bill as an ACCPAY invoice, a tenant
invoice or supplementary invoice as ACCREC, a credit note as ACCRECCREDIT.

Pure: no I/O. The rules that make Xero's totals equal ours to the cent:

- Every line goes with `Quantity` 1 and `UnitAmount` = `LineAmount` = our line amount, tax-exclusive
  (`LineAmountTypes: Exclusive`). Our amounts come from our own rounding rules (graduated tiers,
  proration), so letting Xero multiply quantity by unit price could move a line by a cent; the
  quantity and unit price stay readable in the description instead.
- Tax is not a line in Xero: the document's tax (our `tax` lines, or DigitalOcean's GST lines) is set
  as `TaxAmount` on the other lines, split in proportion to their amounts by the largest remainder, so
  the parts sum to our tax exactly. Xero would otherwise compute tax per line and round each.
- Amounts are exact decimals in the currency's minor-unit exponent (cents for USD, whole yen for JPY),
  written as JSON numbers whose text is that decimal.
- Credit notes are positive in Xero (a credit note of 12.34, not an invoice of -12.34).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from billing_assets.books.payloads import Payable, Receivable
from billing_assets.money import minor_to_major
from billing_assets.revenue.invoicing.documents import PAYMENT_TERMS_DAYS
from billing_assets.revenue.invoicing.rating import LineKind

DIGITALOCEAN_CONTACT = {"ContactNumber": "digitalocean", "Name": "DigitalOcean LLC"}
PAYMENT_TERMS = timedelta(days=PAYMENT_TERMS_DAYS)  # the tenant's terms, as on the Stripe invoice
# Xero AU tax types that carry no tax: a document that charged tax cannot map to one, and one that
# charged none cannot map to a taxed type.
ZERO_RATED = {"EXEMPTEXPORT", "EXEMPTOUTPUT", "EXEMPTEXPENSES", "EXEMPTCAPITAL", "BASEXCLUDED", "INPUTTAXED",
              "NONE", "ZERORATEDOUTPUT", "ZERORATEDINPUT"}
PAYABLE_TAXED, PAYABLE_UNTAXED = "payable", "payable-untaxed"
DEFAULT_TAX_TYPES = f"{PAYABLE_TAXED}=INPUT,{PAYABLE_UNTAXED}=EXEMPTEXPENSES,AU=OUTPUT,EXPORT=EXEMPTEXPORT"
DEFAULT_ACCOUNTS = "payable=310,sales=200"
LINE_KINDS = tuple(kind.value for kind in LineKind if kind != LineKind.TAX)  # what XERO_ACCOUNT_CODES may name


class XeroMappingError(ValueError):
    """A document cannot be mapped to Xero as configured (the message names what is missing)."""


def _pairs(text: str, setting: str) -> dict[str, str]:
    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise XeroMappingError(f"{setting}: {item!r} is not KEY=VALUE")
        pairs[key.strip()] = value.strip()
    return pairs


@dataclass(frozen=True)
class XeroMapping:
    """Which account and tax type each line books to (XERO_ACCOUNT_CODES, XERO_TAX_TYPES)."""
    accounts: dict[str, str]
    tax_types: dict[str, str]

    @classmethod
    def parse(cls, accounts: str, tax_types: str) -> XeroMapping:
        account_map = {**_pairs(DEFAULT_ACCOUNTS, "defaults"), **_pairs(accounts, "XERO_ACCOUNT_CODES")}
        unknown = set(account_map) - {"payable", "sales", *LINE_KINDS}
        if unknown:
            raise XeroMappingError(f"XERO_ACCOUNT_CODES: unknown key(s) {', '.join(sorted(unknown))}; use payable, "
                                   f"sales or a line kind ({', '.join(LINE_KINDS)})")
        return cls(account_map, {**_pairs(DEFAULT_TAX_TYPES, "defaults"), **_pairs(tax_types, "XERO_TAX_TYPES")})

    def account(self, kind: str) -> str:
        return self.accounts.get(kind) or self.accounts["sales"]

    def tax_type(self, key: str, what: str, charged_tax: bool) -> str:
        try:
            tax_type = self.tax_types[key]
        except KeyError:
            raise XeroMappingError(f"{what}: no Xero tax type mapped for jurisdiction {key!r}; add {key}=<TaxType> "
                                   "to XERO_TAX_TYPES (e.g. EXEMPTEXPORT for GST-free exports)") from None
        if charged_tax == (tax_type in ZERO_RATED):
            raise XeroMappingError(f"{what}: {'charged' if charged_tax else 'charged no'} tax but {key!r} maps to "
                                   f"{tax_type}, a {'zero-rated' if charged_tax else 'taxed'} Xero tax type; fix "
                                   "XERO_TAX_TYPES")
        return tax_type


def split_tax(amounts: list[int], tax: int) -> list[int]:
    """`tax` spread over lines in proportion to their amounts, largest remainder first, summing to `tax`
    exactly (every amount in minor units)."""
    base = sum(amounts)
    if not tax:
        return [0] * len(amounts)
    if not base:
        raise XeroMappingError(f"tax of {tax} on lines that sum to zero cannot be split")
    shares = [divmod(amount * tax, base) for amount in amounts]
    parts = [whole for whole, _ in shares]
    left = tax - sum(parts)
    for index in sorted(range(len(amounts)), key=lambda i: (-shares[i][1], i))[:left]:
        parts[index] += 1
    return parts


def decimal_number(amount: Decimal) -> float | int:
    """The amount as a JSON number whose text is exactly the decimal: an integer where the currency has
    no minor unit (2000 yen is 2000), else a float, whose repr is the shortest text that reads back as
    itself (86.92 is written 86.92); refused where that would not hold."""
    if amount == amount.to_integral_value() and amount.as_tuple().exponent >= 0:
        return int(amount)
    number = float(amount)
    if Decimal(repr(number)) != amount:
        raise XeroMappingError(f"{amount} cannot be written exactly as a JSON number")
    return number


def _line(description: str, amount: int, tax: int, currency: str, account: str, tax_type: str) -> dict:
    major = decimal_number(minor_to_major(amount, currency))
    return {"Description": description[:4000], "Quantity": 1, "UnitAmount": major, "LineAmount": major,
            "AccountCode": account, "TaxType": tax_type,
            "TaxAmount": decimal_number(minor_to_major(tax, currency))}


def _date(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def bill(payable: Payable, mapping: XeroMapping, contact: dict) -> dict:
    """A DigitalOcean invoice as an ACCPAY bill: its GST lines become the input tax of the others."""
    net = [line for line in payable.lines if not line.is_tax]
    tax = sum(line.amount_minor for line in payable.lines if line.is_tax)
    tax_type = mapping.tax_type(PAYABLE_TAXED if tax else PAYABLE_UNTAXED,
                                f"DigitalOcean invoice {payable.invoice_id or payable.invoice_uuid}", bool(tax))
    issued = (payable.period_start.replace(day=28) + timedelta(days=4)).replace(day=1)
    lines = [_line(f"{line.product}: {line.description}"
                   + (f" [deployment {line.deployment_slug}]" if line.deployment_slug else ""),
                   line.amount_minor, part, payable.currency, mapping.account("payable"), tax_type)
             for line, part in zip(net, split_tax([line.amount_minor for line in net], tax), strict=True)]
    return {"Type": "ACCPAY", "Contact": contact, "InvoiceNumber": bill_number(payable),
            "Reference": payable.invoice_uuid, "Date": _date(issued), "DueDate": _date(issued),
            "CurrencyCode": payable.currency, "LineAmountTypes": "Exclusive", "Status": "AUTHORISED",
            "LineItems": lines}


def bill_number(payable: Payable) -> str:
    return f"DO-{payable.invoice_id or payable.invoice_uuid}"


def sales_document(doc: Receivable, mapping: XeroMapping, contact: dict) -> dict:
    """An issued tenant document as ACCREC (invoice, supplementary invoice) or ACCRECCREDIT (credit
    note, amounts positive), its tax spread over its lines as `TaxAmount`."""
    sign = -1 if doc.document_type == "credit_note" else 1
    charged = [line for line in doc.lines if line.kind != "tax"]
    tax_type = mapping.tax_type(doc.tax_jurisdiction, f"{doc.invoice_number} (tenant {doc.tenant_slug})",
                                bool(doc.tax_minor))
    taxes = split_tax([sign * line.amount_minor for line in charged], sign * doc.tax_minor)
    lines = [_line(_describe(line), sign * line.amount_minor, part, doc.currency, mapping.account(line.kind), tax_type)
             for line, part in zip(charged, taxes, strict=True)]
    body = {"Contact": contact, "Reference": doc.corrects_invoice_number or doc.tenant_slug,
            "Date": _date(doc.issued_at), "CurrencyCode": doc.currency, "LineAmountTypes": "Exclusive",
            "Status": "AUTHORISED", "LineItems": lines}
    if sign < 0:
        return {"Type": "ACCRECCREDIT", "CreditNoteNumber": doc.invoice_number, **body}
    return {"Type": "ACCREC", "InvoiceNumber": doc.invoice_number, "DueDate": _date(doc.issued_at + PAYMENT_TERMS),
            **body}


def _describe(line) -> str:
    unit = f" @ {line.unit_amount_minor} minor units" if line.unit_amount_minor not in (None, "") else ""
    deployment = f" [deployment {line.deployment_id}]" if line.deployment_id else ""
    return f"{line.description} ({line.quantity}{unit}){deployment}"


def tenant_contact(doc: Receivable) -> dict:
    """One Xero contact per tenant, found again by its ContactNumber (our tenant id)."""
    contact = {"ContactNumber": doc.tenant_id, "Name": f"{doc.tenant_name} ({doc.tenant_slug})"}
    if doc.billing_email:
        contact["EmailAddress"] = doc.billing_email
    return contact
