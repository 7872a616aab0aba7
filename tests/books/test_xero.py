"""The books in Xero, against a local server speaking Xero's Accounting API (tests/fakes/xero.py): the
mapping worked out by hand, a whole sample year landing once, and every fault Xero can throw healed
by a re-run without a duplicate."""

import shutil
from datetime import datetime
from decimal import Decimal

import pytest

from billing_assets.books.payloads import CostLine, DocumentLine, Payable, Receivable
from billing_assets.books.resources import FinanceResource
from billing_assets.books.targets import Outgoing, XeroTarget
from billing_assets.books.xero import RateLimiter, XeroError
from billing_assets.books.xero_payloads import XeroMapping, XeroMappingError, bill, sales_document, split_tax
from tests.conftest import Env, make_resources, serve_xero, xero_for

BOOKS = ["books_payables", "books_receivables"]
YEAR = {"dagster/asset_partition_range_start": "2026-01-01", "dagster/asset_partition_range_end": "2026-10-01"}
MAPPING = XeroMapping.parse("", "GB=TAX002")


def april_bill() -> Payable:
    """The seed's 33-line April bill: 30 droplets at $2.50, one at $4.02, two GST lines of $3.95."""
    lines = [CostLine(i, "Droplets", f"web-{i}", 250, False, None, None, None) for i in range(1, 31)]
    lines.append(CostLine(31, "Droplets", "api-1", 402, False, "d-1", "acme-prod", "t-1"))
    lines += [CostLine(32, "Taxes", "GST Australia (10.00%)", 395, True, None, None, None),
              CostLine(33, "Other", "GST adjustment", 395, True, None, None, None)]
    return Payable("inv-april", "1234567", datetime(2026, 4, 1), "USD", tuple(lines))


def test_the_april_bill_as_an_accpay_bill_with_its_gst_as_input_tax():
    """By hand: net 30 x 2.50 + 4.02 = 79.02; tax 7.90 split over the 31 net lines in proportion.
    A $2.50 line's exact share is 250 x 790 / 7902 = 24.99 cents, the $4.02 line's 40.19: floors
    30 x 24 + 40 = 760, the 30 cents left go to the largest remainders (the $2.50 lines, .99 > .19),
    so each $2.50 line carries $0.25 and the $4.02 line $0.40: 7.50 + 0.40 = 7.90. Total 86.92."""
    body = bill(april_bill(), MAPPING, {"ContactID": "do"})
    assert (body["Type"], body["InvoiceNumber"], body["Reference"]) == ("ACCPAY", "DO-1234567", "inv-april")
    assert (body["Date"], body["LineAmountTypes"], body["Status"]) == ("2026-05-01", "Exclusive", "AUTHORISED")
    lines = body["LineItems"]
    assert len(lines) == 31 and {line["TaxType"] for line in lines} == {"INPUT"}
    assert {line["AccountCode"] for line in lines} == {"310"}
    assert [line["TaxAmount"] for line in lines] == [0.25] * 30 + [0.40]
    assert lines[-1]["LineAmount"] == lines[-1]["UnitAmount"] == 4.02 and lines[-1]["Quantity"] == 1
    assert lines[-1]["Description"] == "Droplets: api-1 [deployment acme-prod]"
    net = sum(Decimal(repr(line["LineAmount"])) for line in lines)
    tax = sum(Decimal(repr(line["TaxAmount"])) for line in lines)
    assert (net, tax, net + tax) == (Decimal("79.02"), Decimal("7.90"), Decimal("86.92"))


def test_split_tax_sums_exactly_with_credit_lines_and_zero_amounts():
    # By hand: lines 1000, -300, 0 (net 700), tax 70: shares 100, -30, 0 exactly.
    assert split_tax([1000, -300, 0], 70) == [100, -30, 0]
    # 3 lines of 5 cents, tax 2: exact shares 0.667 each; floors 0, the 2 cents go to the first two.
    assert split_tax([5, 5, 5], 2) == [1, 1, 0]
    assert split_tax([1234], 0) == [0]
    with pytest.raises(XeroMappingError, match="sum to zero"):
        split_tax([100, -100], 5)


def receivable(number: str, jurisdiction: str, lines: list[tuple[str, int]], tax: int, *, doc_type="invoice",
               corrects: tuple[str, str] | None = None, currency="USD") -> Receivable:
    document_lines = tuple(DocumentLine(i, kind, f"{kind} line", "1", None, amount, None, None)
                           for i, (kind, amount) in enumerate(lines, start=1))
    subtotal = sum(amount for _, amount in lines)
    return Receivable(f"id-{number}", number, doc_type, *(corrects or (None, None)), "t-acme", "acme", "Acme Pty Ltd",
                      "ap@acme.example", jurisdiction, datetime(2026, 4, 1), datetime(2026, 5, 1),
                      datetime(2026, 5, 1, 3), currency, subtotal, tax, subtotal + tax, "0.1", "GST",
                      document_lines + (DocumentLine(len(lines) + 1, "tax", "GST 10%", "1", None, tax, None, "0.1"),))


def test_tenant_documents_map_by_jurisdiction_and_an_unmapped_one_is_refused_by_name():
    # By hand: AU invoice, base 50.00 + overage 10.00 = 60.00, GST 6.00 (5.00 + 1.00), due 14 days later.
    invoice = sales_document(receivable("INV-1", "AU", [("plan_base", 5000), ("overage", 1000)], 600), MAPPING, {"ContactID": "c"})
    assert (invoice["Type"], invoice["InvoiceNumber"], invoice["DueDate"]) == ("ACCREC", "INV-1", "2026-05-15")
    assert [(li["LineAmount"], li["TaxAmount"], li["TaxType"]) for li in invoice["LineItems"]] == [
        (50.0, 5.0, "OUTPUT"), (10.0, 1.0, "OUTPUT")]
    # A credit note of -10.00 and -1.00 GST is positive in Xero: 10.00 + 1.00, referencing its invoice.
    note = sales_document(receivable("CN-1", "AU", [("overage", -1000)], -100, doc_type="credit_note",
                                     corrects=("id-INV-1", "INV-1")), MAPPING, {"ContactID": "c"})
    assert (note["Type"], note["CreditNoteNumber"], note["Reference"]) == ("ACCRECCREDIT", "CN-1", "INV-1")
    assert [(li["LineAmount"], li["TaxAmount"]) for li in note["LineItems"]] == [(10.0, 1.0)]
    # Yen have no decimals: 2000 yen is 2000, not 20.00.
    yen = sales_document(receivable("INV-2", "GB", [("plan_base", 2000)], 400, currency="JPY"), MAPPING, {"ContactID": "c"})
    assert [(li["LineAmount"], li["TaxAmount"], li["TaxType"]) for li in yen["LineItems"]] == [(2000, 400, "TAX002")]
    with pytest.raises(XeroMappingError, match="no Xero tax type mapped for jurisdiction 'JP'"):
        sales_document(receivable("INV-3", "JP", [("plan_base", 5000)], 500), MAPPING, {"ContactID": "c"})
    with pytest.raises(XeroMappingError, match="charged tax but 'EXPORT' maps to EXEMPTEXPORT"):
        sales_document(receivable("INV-4", "EXPORT", [("plan_base", 5000)], 500), MAPPING, {"ContactID": "c"})
    with pytest.raises(XeroMappingError, match="unknown key"):
        XeroMapping.parse("refunds=400", "")


def test_an_incomplete_xero_configuration_is_refused_in_one_line():
    assert FinanceResource(target="xero").problem() == ("BILLING_FINANCE_TARGET=xero needs XERO_CLIENT_ID and "
                                                        "XERO_CLIENT_SECRET")
    configured = {"target": "xero", "xero_client_id": "id", "xero_client_secret": "secret"}
    assert FinanceResource(**configured).problem() is None
    assert FinanceResource(**configured, xero_tax_types="AU").problem() == "XERO_TAX_TYPES: 'AU' is not KEY=VALUE"


def test_the_rate_limiter_allows_60_calls_in_any_minute():
    clock, slept = [0.0], []

    def sleep(seconds):
        slept.append(seconds)
        clock[0] += seconds

    limiter = RateLimiter(60, clock=lambda: clock[0], sleep=sleep)
    for _ in range(60):
        limiter.acquire()
        clock[0] += 0.5  # 60 calls over 30 s: no wait
    assert slept == []
    limiter.acquire()  # the 61st at t=30 waits until the first call is 60 s old
    assert slept == [30.0]


def test_a_credit_note_lands_positive_and_is_allocated_to_its_invoice():
    with serve_xero() as fake:
        target = XeroTarget(xero_for(fake))
        invoice = receivable("INV-9", "AU", [("plan_base", 5000), ("overage", 1000)], 600)
        note = receivable("CN-9", "AU", [("overage", -1000)], -100, doc_type="credit_note",
                          corrects=("id-INV-9", "INV-9"))
        for doc in (invoice, note):
            outgoing = Outgoing(doc.invoice_id, doc.invoice_number, doc, doc.total_minor, doc.tax_minor)
            target.prepare([outgoing])
            target.send(outgoing, target.payload(outgoing), "digest")
        (held_note,) = fake.held("ACCRECCREDIT").values()
        (held_invoice,) = fake.held("ACCREC").values()
        # By hand: the invoice is 66.00; the credit note 11.00, all of it set against the invoice.
        assert (held_note["Total"], held_note["RemainingCredit"]) == (Decimal("11.00"), 0)
        assert (held_invoice["Total"], held_invoice["AmountDue"]) == (Decimal("66.00"), Decimal("55.00"))
        # Sent again (an answer lost): found by number, updated, not allocated twice.
        outgoing = Outgoing(note.invoice_id, note.invoice_number, note, note.total_minor, note.tax_minor)
        again = XeroTarget(xero_for(fake))
        again.prepare([outgoing])
        assert again.send(outgoing, again.payload(outgoing), "digest").action == "updated"
        assert held_invoice["AmountDue"] == Decimal("55.00") and len(fake.creates) == 3  # contact + 2 documents


def test_totals_xero_computes_differently_fail_the_push_with_both_figures():
    """By hand: three 5-cent lines, our tax 2 cents on the 15-cent subtotal; Xero rounding each line's
    0.5 cent up makes 3 cents: Xero 0.18 / 0.03 against ours 0.17 / 0.02."""
    with serve_xero() as fake:
        fake.tax_per_line = True
        target = XeroTarget(xero_for(fake))
        doc = receivable("INV-5", "AU", [("overage", 5)] * 3, 2)
        outgoing = Outgoing(doc.invoice_id, doc.invoice_number, doc, doc.total_minor, doc.tax_minor)
        target.prepare([outgoing])
        with pytest.raises(XeroError, match=r"Xero total 0\.18 / tax 0\.03, ours total 0\.17 / tax 0\.02"):
            target.send(outgoing, target.payload(outgoing), "digest")


@pytest.fixture
def closed_copy(tmp_path, closed_year) -> Env:
    """A private copy of the closed, issued sample year (the shared one stays read-only)."""
    shutil.copytree(closed_year.root, tmp_path, dirs_exist_ok=True)
    return Env(tmp_path, make_resources(tmp_path))


def booked(env) -> dict[str, tuple[int, int]]:
    with env.connect() as conn:
        return {d: (t, x) for d, t, x in conn.execute(
            "SELECT document_id, total_minor, tax_minor FROM books.pushed_documents WHERE target = 'xero'").fetchall()}


def test_a_whole_sample_year_lands_in_xero_once_and_a_rerun_calls_nothing(closed_copy):
    env = closed_copy
    with serve_xero(page_size=3, calls_per_minute=10_000) as fake:  # pages of 3: lookups follow pagination
        env.resources["finance"] = xero_for(fake)
        result = env.materialize(BOOKS, tags=YEAR)
        assert all(c.passed for c in result.get_asset_check_evaluations())
        with env.connect() as conn:
            bills = dict(conn.execute("SELECT 'DO-' || i.invoice_id, sum(l.amount_minor) FROM ingest.do_invoices i "
                                      "JOIN ingest.do_cost_lines l USING (period_start) GROUP BY 1").fetchall())
            documents = {n: (t, x) for n, t, x in conn.execute(
                "SELECT invoice_number, total_minor, tax_minor FROM revenue.tenant_invoices "
                "WHERE status <> 'draft'").fetchall()}
            currency = dict(conn.execute("SELECT invoice_number, currency FROM revenue.tenant_invoices").fetchall())
            (customers,) = conn.execute("SELECT count(DISTINCT tenant_id) FROM revenue.tenant_invoices").fetchone()
        assert {n: int(d["Total"] * 100) for n, d in fake.held("ACCPAY").items()} == bills and len(bills) == 10
        exp = {n: 1 if currency[n] == "JPY" else 100 for n in documents}
        assert {n: (int(d["Total"] * exp[n]), int(d["TotalTax"] * exp[n]))
                for n, d in fake.held("ACCREC").items()} == documents and len(documents) == 90
        assert len(fake.items["Contacts"]) == 1 + customers  # DigitalOcean and each invoiced tenant, once
        assert len(fake.creates) == len(set(fake.creates)) == 1 + customers + 100
        assert len(booked(env)) == 100
        calls = len(fake.calls)
        again = env.materialize(BOOKS, tags=YEAR)
        assert again.success and len(fake.calls) == calls  # nothing changed: not one call to Xero


def test_faults_heal_on_rerun_without_a_duplicate(closed_copy):
    env = closed_copy
    april = {"partition_key": "2026-04-01"}
    with serve_xero() as fake:
        # 1. An unmapped jurisdiction and an account Xero does not have: refused by name, the rest lands.
        env.resources["finance"] = xero_for(fake, xero_tax_types="NZ=TAX001,GB=TAX002",
                                            xero_account_codes="overage=999")
        first = env.materialize(BOOKS, raise_on_error=False, **april)
        failures = [e.event_specific_data.user_failure_data.description for e in first.all_events
                    if e.is_step_failure]
        text = " ".join(failures)
        assert "no Xero tax type mapped for jurisdiction 'JP'" in text
        assert "Account code '999' is not a valid code for this document." in text
        landed = booked(env)
        assert 0 < len(landed) < 10 and "local-xero-client-secret" not in text

        # 2. The mapping fixed; Xero now throttles twice, the token expires mid-run, and the answer to the
        #    first create is lost after Xero stored it (retried with its key: answered as a replay,
        #    once per attempt that timed out). The re-run heals all of it.
        env.resources["finance"] = xero_for(fake)
        fake.rate_limit_next(2)
        fake.expire_tokens_after(3)
        fake.drop_after_create("Invoices")
        second = env.materialize(BOOKS, **april)
        assert all(c.passed for c in second.get_asset_check_evaluations())
        assert len(fake.creates) == len(set(fake.creates))  # nothing created twice
        assert fake.refusals.count(401) == 1 and fake.refusals.count(429) == 2 and fake.replays >= 1
        assert len(booked(env)) == 10 and len(fake.held("ACCREC")) == 9 and len(fake.held("ACCPAY")) == 1
        with env.connect() as conn:
            skipped = conn.execute("SELECT count(*) FROM books.push_log WHERE target = 'xero' AND action = 'skipped'"
                                   ).fetchone()[0]
        assert skipped == len(landed)  # what landed the first time was not sent again


def test_a_credit_note_for_a_paid_invoice_stays_on_the_account_and_says_so():
    with serve_xero() as fake:
        invoice = receivable("INV-8", "AU", [("plan_base", 5000)], 500)
        note = receivable("CN-8", "AU", [("plan_base", -1000)], -100, doc_type="credit_note",
                          corrects=("id-INV-8", "INV-8"))
        for doc in (invoice, note):
            if doc is note:
                fake.held("ACCREC")["INV-8"]["AmountDue"] = Decimal(0)  # paid in Xero meanwhile
            target = XeroTarget(xero_for(fake))
            outgoing = Outgoing(doc.invoice_id, doc.invoice_number, doc, doc.total_minor, doc.tax_minor)
            target.prepare([outgoing])
            target.send(outgoing, target.payload(outgoing), "digest")
        assert fake.held("ACCRECCREDIT")["CN-8"]["RemainingCredit"] == Decimal("11.00")
        assert target.notes == ["CN-8: INV-8 is already paid; the credit stays on the account"]
