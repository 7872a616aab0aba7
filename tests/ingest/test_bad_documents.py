"""The DigitalOcean half of the bad-input corpus (the source contract's half is
tests/source/test_source_validation.py): each case corrupts one document of April's invoice in the
export folder, runs the real ingest steps and asserts the exact message names the document (and the
line and column where there is one), that its bytes are kept, and that no cost line changed."""

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from billing_assets.ingest.raw_store import raw_bytes
from tests.conftest import Env, copy_world

COST = ["do_invoices", "do_cost_lines"]
TABLES = ("ingest.do_cost_lines", "ingest.do_invoices")


def _csv_row(text: str, n: int = 1) -> str:
    return text.splitlines(keepends=True)[n]


@dataclass(frozen=True)
class Case:
    document: str          # invoices.json | items.json | summary.json | invoice.csv (April's)
    corrupt: object        # old text -> new bytes
    message: str           # what the failure says, exactly (a substring of the step's error)
    invoice_row_kept: bool = True  # False: do_invoices records what DigitalOcean served (a CSV's new hash)


def _set_first_row(column: str, value: str):
    """The first data row with one field (by header name) replaced, quoting kept by the csv module."""
    def corrupt(text: str) -> bytes:
        header, row = (next(csv.reader([_csv_row(text, n)])) for n in (0, 1))
        row[header.index(column)] = value
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerow(row)
        return text.replace(_csv_row(text), out.getvalue(), 1).encode()
    return corrupt


CSV = "invoice.csv"
CASES = {
    "csv empty": Case(CSV, lambda t: b"", "invoice.csv: the file is empty", False),
    "csv only blank lines": Case(CSV, lambda t: b"  \r\n\r\n", "invoice.csv: the file is empty", False),
    "csv is an HTML error page": Case(CSV, lambda t: b"<html><body>502 Bad Gateway</body></html>\n",
                                      "invoice.csv: got an HTML/XML page instead of data", False),
    "csv cut off mid-row": Case(CSV, lambda t: t[: len(t) - len(_csv_row(t, -1)) // 2].encode(),
                                "invoice.csv: the file does not end with a line break; it looks truncated", False),
    "csv row with fewer fields": Case(CSV, lambda t: (t + "Droplets,,web\n").encode(),
                                      "fewer fields (3) than the header (9)", False),
    "csv row with more fields": Case(CSV, lambda t: (t + _csv_row(t).rstrip("\r\n") + ",extra\r\n").encode(),
                                     "more fields (10) than the header (9)", False),
    "csv without the USD column": Case(CSV, lambda t: t.replace(",USD,", ",AUD,", 1).encode(),
                                       "invoice.csv: missing required column(s) USD", False),
    "csv amount with a letter O": Case(CSV, _set_first_row("USD", "$6.0O"), "line 2, column USD: not an amount",
                                       False),
    "csv amount below a cent": Case(CSV, _set_first_row("USD", "$6.001"), "line 2, column USD", False),
    "csv start not a timestamp": Case(CSV, _set_first_row("start", "01/04/2026"),
                                      "line 2, column start: not a timestamp", False),
    "csv fractional hours": Case(CSV, _set_first_row("hours", "7.5"),
                                 "line 2, column hours: '7.5' is not a whole number of hours", False),
    "csv empty product": Case(CSV, _set_first_row("product", " "), "line 2, column product: empty", False),
    "csv not UTF-8": Case(CSV, lambda t: t.replace(_csv_row(t), _csv_row(t).replace(",", ",é", 1), 1)
                          .encode("latin-1"), "invoice.csv: not UTF-8 (byte b'\\xe9')", False),
    "csv header only": Case(CSV, lambda t: _csv_row(t, 0).encode(), "invoice.csv: a header but no lines", False),
    "csv unterminated quote": Case(CSV, lambda t: (t + '"Droplets,,web\n').encode(),
                                   "invoice.csv: not a readable CSV (unexpected end of data)", False),
    "items not JSON": Case("items.json", lambda t: t[:40].encode(), "items.json: invalid JSON at line"),
    "item without an amount": Case("items.json", lambda t: json.dumps({**json.loads(t), "invoice_items": [
        {k: v for k, v in i.items() if k != "amount"} for i in json.loads(t)["invoice_items"]]}).encode(),
        "items.json item 1: field 'amount' is missing"),
    "item amount not a number": Case("items.json", lambda t: json.dumps({**json.loads(t), "invoice_items": [
        {**i, "amount": "six"} for i in json.loads(t)["invoice_items"]]}).encode(),
        "items.json item 1, amount: not an amount: 'six'"),
    "items not a list": Case("items.json", lambda t: b'{"invoice_items": {"product": "Droplets"}}',
                             "items.json: no invoice_items list"),
    "summary without an amount": Case("summary.json", lambda t: b'{"invoice_uuid": "x"}',
                                      "summary.json: field 'amount' is missing"),
    "summary a JSON list": Case("summary.json", lambda t: b"[]", "summary.json: expected a JSON object, got list"),
    "invoice list cut short": Case("invoices.json", lambda t: t[:30].encode(), "invoices.json: invalid JSON"),
    "invoice list with April twice": Case("invoices.json", lambda t: json.dumps({**json.loads(t), "invoices": [
        *json.loads(t)["invoices"], next(i for i in json.loads(t)["invoices"] if i["invoice_period"] == "2026-04")]})
        .encode(), "invoice list: more than one invoice for 2026-04"),
}


@pytest.fixture(scope="module")
def closed_april(tmp_path_factory, world_template):
    """April ingested once from good documents; each case corrupts one, then puts it back."""
    env = copy_world(world_template, tmp_path_factory.mktemp("bad-documents"))
    env.materialize(COST, partition_key="2026-04-01")
    return env


def april_document(env: Env, name: str) -> Path:
    if name == "invoices.json":
        return env.root / "digitalocean" / name
    listing = json.loads((env.root / "digitalocean" / "invoices.json").read_text())
    uuid = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")["invoice_uuid"]
    return env.root / "digitalocean" / "invoices" / uuid / name


def state(env: Env) -> dict[str, list]:
    with env.connect() as conn:
        return {t: conn.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in TABLES}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_a_bad_document_is_refused_by_name_kept_and_changes_no_cost_line(case, closed_april):
    env = closed_april
    path = april_document(env, case.document)
    good = path.read_bytes()
    before = state(env)
    bad = case.corrupt(good.decode())
    assert bad != good, "the case must change the document"
    path.write_bytes(bad)
    try:
        result = env.materialize(COST, partition_key="2026-04-01", raise_on_error=False)
    finally:
        path.write_bytes(good)
    failures = [e.event_specific_data.error.message for e in result.all_events if e.is_step_failure]
    assert failures and case.message in failures[0], failures
    after = state(env)
    assert after["ingest.do_cost_lines"] == before["ingest.do_cost_lines"]
    if case.invoice_row_kept:
        assert after["ingest.do_invoices"] == before["ingest.do_invoices"]
    with env.connect() as conn:  # the refused bytes are evidence, kept verbatim
        shas = [sha for (sha,) in conn.execute("SELECT DISTINCT sha256 FROM ingest.raw_documents").fetchall()]
        kept = [sha for sha in shas if raw_bytes(conn, sha) == bad]
    assert kept


def test_a_missing_export_file_fails_once_with_what_to_do(tmp_path, world_template):
    """A file missing from the export folder never appears by retrying: one attempt, no backoff, a clear line."""
    env = copy_world(world_template, tmp_path)
    (env.root / "digitalocean" / "balance.json").unlink()
    result = env.materialize(["do_balance_snapshots"], raise_on_error=False)
    failures = [e for e in result.all_events if e.is_step_failure]
    assert len(failures) == 1 and not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    message = failures[0].event_specific_data.error.message
    assert "balance.json is missing: put it in the DigitalOcean export folder (or set DIGITALOCEAN_TOKEN)" in message
    assert not env.warehouse_path.exists()  # it failed before opening the warehouse: nothing written
