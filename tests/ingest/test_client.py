"""The HTTP client against a local server speaking DigitalOcean's wire format."""

import json

import pytest

from billing_assets.ingest.client import DigitalOceanClient, DigitalOceanError
from tests.ingest.conftest import TOKEN


def client(do_api, sleeps=None, **kw):
    return DigitalOceanClient(TOKEN, do_api.base_url, sleep=(sleeps.append if sleeps is not None else lambda s: None),
                              **{"timeout_s": 2, "max_retries": 4, "backoff_base_s": 0.01, **kw})


def first_invoice(do_api):
    listing = json.loads(do_api.documents["invoices.json"])
    return next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")


def test_three_page_invoice_follows_next_links(do_api):
    invoice = first_invoice(do_api)
    pages = list(client(do_api).pages(f"v2/customers/my/invoices/{invoice['invoice_uuid']}"))
    assert len(pages) == 3  # 42 items, at most 15 a page
    items = [i for p in pages for i in json.loads(p.content)["invoice_items"]]
    expected = json.loads(do_api.documents[f"invoices/{invoice['invoice_uuid']}/items.json"])["invoice_items"]
    assert items == expected
    assert [q for p, q in do_api.requests][:1] == ["per_page=200"]


def test_a_csv_is_streamed_to_a_file_and_a_body_cut_short_is_fetched_again(do_api, tmp_path):
    uuid = first_invoice(do_api)["invoice_uuid"]
    do_api.fail(f"/v2/customers/my/invoices/{uuid}/csv", ("cut",))
    sleeps = []
    dest = tmp_path / "april.csv"
    response = client(do_api, sleeps).download(f"v2/customers/my/invoices/{uuid}/csv", dest)
    assert response.body == dest and dest.read_bytes() == do_api.documents[f"invoices/{uuid}/invoice.csv"]
    assert len(sleeps) == 1  # one retry: the half-written file was started again, not appended to


def test_429_is_honoured_then_succeeds(do_api):
    do_api.fail("/v2/customers/my/balance", ("status", 429, "too_many_requests", "API Rate limit exceeded.",
                                             {"retry-after": "2"}))
    sleeps = []
    response = client(do_api, sleeps).get("v2/customers/my/balance")
    assert response.status == 200 and sleeps == [2.0]


def test_429_without_retry_after_waits_for_ratelimit_reset(do_api):
    import time

    do_api.fail("/v2/customers/my/balance", ("status", 429, "too_many_requests", "API Rate limit exceeded.",
                                             {"ratelimit-reset": str(int(time.time()) + 30)}))
    sleeps = []
    client(do_api, sleeps).get("v2/customers/my/balance")
    assert 25 <= sleeps[0] <= 31


def test_500_three_times_then_success(do_api):
    do_api.fail("/v2/customers/my/balance", *[("status", 500, "server_error", "Server Error")] * 3)
    sleeps = []
    assert client(do_api, sleeps).get("v2/customers/my/balance").status == 200
    assert len(sleeps) == 3 and all(0 <= s <= 0.08 for s in sleeps)


def test_5xx_retries_are_bounded(do_api):
    do_api.fail("/v2/customers/my/balance", *[("status", 503, "server_error", "Unavailable")] * 10)
    with pytest.raises(DigitalOceanError, match="giving up after 3 attempts: server error 503"):
        client(do_api, max_retries=2).get("v2/customers/my/balance")


def test_timeout_is_retried(do_api):
    do_api.fail("/v2/customers/my/balance", ("sleep", 1.5))
    response = client(do_api, timeout_s=0.5).get("v2/customers/my/balance")
    assert response.status == 200


def test_401_names_the_variable_and_never_the_token(do_api):
    bad = DigitalOceanClient("dop_v1_wrong-token-value", do_api.base_url, sleep=lambda s: None)
    with pytest.raises(DigitalOceanError) as err:
        bad.get("v2/customers/my/balance")
    text = str(err.value) + repr(err.value) + repr(err.value.__dict__)
    assert "DIGITALOCEAN_TOKEN" in text and "HTTP 401" in text and "id=unauthorized" in text
    assert "wrong-token-value" not in text and TOKEN not in text


def test_404_carries_status_id_message_and_request_id(do_api):
    with pytest.raises(DigitalOceanError) as err:
        client(do_api).get("v2/customers/my/invoices/00000000-0000-0000-0000-000000000000")
    e = err.value
    assert (e.status, e.error_id, e.request_id) == (404, "not_found", "req-not_found-404")
    assert "could not be found" in str(e)
