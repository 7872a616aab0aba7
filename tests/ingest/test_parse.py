"""The parsers against real-format and hostile input: every error names the file, line and field."""

from datetime import UTC, datetime

import duckdb
import pytest

from billing_assets.ingest.cost_lines import ParquetStage
from billing_assets.ingest.parse import (
    ParseError,
    parse_billing_history,
    parse_invoice_csv,
    parse_invoice_items,
    parse_invoice_list,
)
from billing_assets.warehouse import run_sql

HEADER = "product,group_description,description,hours,start,end,USD,project_name,category\r\n"
ROW = "Droplets,,web-1 (s-1vcpu-1gb),720,2026-04-01 00:00:00 +0000,2026-05-01 00:00:00 +0000,$6.00,acme,iaas\r\n"
TAX = "Taxes,,GST Australia (10.00%),,2026-04-01 00:00:00 +0000,2026-04-30 23:59:59 +0000,$0.60,,iaas\r\n"


def parse(text, name="april.csv"):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return parse_invoice_csv(data, name, "inv-1")


def test_real_format_parses_with_half_open_periods():
    lines = parse(HEADER + ROW + TAX)
    assert [(line.product, line.amount_minor, line.is_tax) for line in lines] == [
        ("Droplets", 600, False), ("Taxes", 60, True)]
    assert lines[1].end_at == datetime(2026, 5, 1, tzinfo=UTC)  # 23:59:59 normalised
    assert lines[0].hours == 720 and lines[1].hours is None
    assert lines[0].line_number == 1


def test_column_order_extra_columns_and_pre_2020_header():
    reordered = "USD,product,end,start,description,hours,group_description,project_name,note\n" \
                "$6.00,Droplets,2026-05-01 00:00:00 +0000,2026-04-01 00:00:00 +0000,web-1 (s-1vcpu-1gb),720,,acme,x\n"
    assert parse(reordered)[0].amount_minor == 600
    old = "product,group_description,description,hours,start,end,USD,project_name\n" + \
          "Droplets,,eth (s-4vcpu-8gb),744,2019-01-01 00:00:00 +0000,2019-02-01 00:00:00 +0000,$40.00,\n"
    assert parse(old)[0].category == ""


def test_amount_forms_and_quoted_commas():
    rows = (HEADER
            + 'Spaces Subscription,,"Spaces ($5/mo 250GB storage & 1TB bandwidth), extra",744,'
              '2026-04-01 00:00:00 +0000,2026-05-01 00:00:00 +0000,"$1,234.56",,iaas\n'
            + "Credits,,Promo,,2026-04-01 00:00:00 +0000,2026-05-01 00:00:00 +0000,-$5.00,,\n"
            + "Credits,,Promo 2,,2026-04-01 00:00:00 +0000,2026-05-01 00:00:00 +0000,$-0.25,,\n")
    lines = parse(rows)
    assert [line.amount_minor for line in lines] == [123456, -500, -25]
    assert lines[0].description.endswith(", extra")


def test_bom_and_crlf():
    assert parse(b"\xef\xbb\xbf" + (HEADER + ROW).encode())[0].product == "Droplets"


@pytest.mark.parametrize(("content", "message"), [
    (b"", "april.csv: the file is empty"),
    (b"   \r\n", "april.csv: the file is empty"),
    ((HEADER + ROW[:40]).encode(), "does not end with a line break; it looks truncated"),
    ((HEADER + "Droplets,,web\n").encode(), "april.csv line 2: fewer fields (3) than the header (9)"),
    (("product,description,start,end,USD\n" + "a,b,c,d,e\n").encode(),
     "april.csv: missing required column(s) group_description, hours, project_name"),
    ((HEADER + ROW.replace("$6.00", "$6.0O")).encode(), "april.csv line 2, column USD: not an amount: '$6.0O'"),
    ((HEADER + ROW.replace("$6.00", "$6.001")).encode(), "april.csv line 2, column USD"),
    ((HEADER + ROW.replace("2026-04-01 00:00:00 +0000", "01/04/2026")).encode(),
     "april.csv line 2, column start: not a timestamp"),
    ((HEADER + ROW.replace(",720,", ",7.5,")).encode(), "column hours: '7.5' is not a whole number"),
    (HEADER.encode() + ROW.replace("web-1", "w\xe9b").encode("latin-1"), "april.csv: not UTF-8 (byte"),
    (b"<!DOCTYPE html><html><body>502 Bad Gateway</body></html>\n", "got an HTML/XML page instead of data"),
    (HEADER.encode(), "a header but no lines"),
    ((HEADER + '"unterminated,quote\n').encode(), "april.csv"),
])
def test_bad_csv_fails_with_a_message_naming_the_problem(content, message):
    with pytest.raises(ParseError) as err:
        parse(content)
    assert message in str(err.value)


def test_json_items_with_absent_keys():
    page = (b'{"invoice_items": [{"product": "Spaces Subscription", "description": "Spaces", "amount": "5.00",'
            b'"start_time": "2026-04-01T00:00:00Z", "end_time": "2026-05-01T00:00:00Z"}], "links": {}, '
            b'"meta": {"total": 1}}')
    (line,) = parse_invoice_items([(page, "items.json")], "inv-1")
    assert line.resource_id is None and line.group_description == "" and line.amount_minor == 500
    no_amount = page.replace(b'"amount": "5.00",', b"")
    with pytest.raises(ParseError, match="items.json item 1: field 'amount' is missing"):
        parse_invoice_items([(no_amount, "items.json")], "inv-1")
    with pytest.raises(ParseError, match="items.json: invalid JSON at line 1"):
        parse_invoice_items([(b'{"invoice_items": [', "items.json")], "inv-1")
    with pytest.raises(ParseError, match="no invoice_items list"):
        parse_invoice_items([(b'{"invoices": []}', "items.json")], "inv-1")


def test_ids_are_carried_from_json_to_matching_csv_lines(tmp_path):
    csv_lines = parse(HEADER + ROW + ROW.replace("web-1", "web-2") + ROW + TAX)
    items = b'{"invoice_items": [' + b",".join(
        b'{"product": "Droplets", "description": "%s (s-1vcpu-1gb)", "amount": "6.00", "resource_id": "%s",'
        b'"start_time": "2026-04-01T00:00:00Z", "end_time": "2026-05-01T00:00:00Z"}' % (n, i)
        for n, i in ((b"web-2", b"22"), (b"web-1", b"11"), (b"web-1", b"12"))) + b"]}"
    conn = duckdb.connect()  # the month's scratch views, as do_cost_lines builds them
    for name, lines in (("month_csv_lines", csv_lines),
                        ("month_item_lines", parse_invoice_items([(items, "items.json")], "inv-1"))):
        stage = ParquetStage(tmp_path / name)
        stage.append(lines)
        stage.view(conn, name)
    run_sql(conn, "ingest/cost_lines_month.sql")
    enriched = conn.execute("SELECT line_number, resource_id FROM month_lines ORDER BY line_number").fetchall()
    # Repeated keys pair up in line order: the CSV's two web-1 lines take 11 then 12; tax has no item.
    assert enriched == [(1, "11"), (2, "22"), (3, "12"), (4, None)]


def test_duplicate_invoice_periods_and_unknown_history_types_are_refused():
    listing = b'{"invoices": [%s, %s]}' % ((b'{"invoice_uuid": "a", "amount": "1.00", "invoice_period": "2026-04"}',) * 2)
    with pytest.raises(ParseError, match="more than one invoice for 2026-04"):
        parse_invoice_list([(listing, "invoices.json")])
    history = b'{"billing_history": [{"type": "Gift", "amount": "1.00", "date": "2026-01-01T00:00:00Z"}]}'
    with pytest.raises(ParseError, match="unknown type 'Gift'"):
        parse_billing_history([(history, "billing_history.json")])
