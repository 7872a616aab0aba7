"""Ingest assets through Dagster: the live-API path against the local server and the export folder."""

import hashlib
import json
import shutil

import dagster as dg
import pytest

from billing_assets.cli import main as cli_main
from billing_assets.ingest.automation import changed_periods, do_invoice_sensor
from billing_assets.ingest.raw_store import raw_bytes
from billing_assets.ingest.resources import DigitalOceanResource
from tests.conftest import Env, make_resources
from tests.ingest.conftest import TOKEN

COST = ["do_invoices", "do_cost_lines"]
LINE_COLUMNS = ("period_start, invoice_uuid, invoice_id, line_number, product, group_description, description, hours, "
                "start_at, end_at, amount_minor, project_name, category, is_tax, resource_id, resource_uuid")


def api_env(env: Env, do_api) -> Env:
    root = env.root / "api"
    root.mkdir()
    return Env(root, make_resources(root, source_url=env.resources["source_db"].url, token=TOKEN,
                                    api_url=do_api.base_url, backoff_base_s=0.01, timeout_s=5))


def lines(env: Env, month: str = "2026-04"):
    with env.connect() as conn:
        return conn.execute(f"SELECT {LINE_COLUMNS} FROM ingest.do_cost_lines WHERE period_start = ? "
                            "ORDER BY line_number", [f"{month}-01"]).fetchall()


def test_api_ingests_a_multi_page_account_exactly_like_the_folder(env, do_api):
    api = api_env(env, do_api)
    for month in ("2026-03", "2026-04"):
        result = api.materialize(COST, partition_key=f"{month}-01")
        assert all(c.passed for c in result.get_asset_check_evaluations())
        env.materialize(COST, partition_key=f"{month}-01")
        assert lines(api, month) == lines(env, month) and lines(api, month)
    api.materialize(["do_billing_history", "do_resources", "do_balance_snapshots"])
    env.materialize(["do_billing_history", "do_resources", "do_balance_snapshots"])
    for table, columns in (("do_billing_history", "entry_key, entry_type, amount_minor, occurred_at"),
                           ("do_resources", "resource_key, kind, name, cluster_uuid")):
        query = f"SELECT {columns} FROM ingest.{table} ORDER BY 1"
        with api.connect() as a, env.connect() as b:
            assert a.execute(query).fetchall() == b.execute(query).fetchall()
    with api.connect() as conn:
        assert conn.execute("SELECT count(*) FROM ingest.do_billing_history").fetchone()[0] == 28
        pages = conn.execute("SELECT count(*) FROM ingest.raw_documents WHERE kind = 'invoice_items' AND "
                             "period = '2026-04'").fetchone()[0]
        gpus = conn.execute("SELECT count(*) FROM ingest.do_resources WHERE size_slug LIKE 'gpu%'").fetchone()[0]
        nodes = conn.execute("SELECT count(*) FROM ingest.do_resources WHERE cluster_uuid IS NOT NULL").fetchone()[0]
    assert pages == 3 and gpus == 1 and nodes == 2
    assert any("type=gpus" in q for _, q in do_api.requests)


def test_reingesting_a_month_gives_identical_rows(env):
    env.materialize(COST, partition_key="2026-04-01")
    queries = ["SELECT * FROM ingest.raw_documents ORDER BY ALL", "SELECT * FROM ingest.raw_document_chunks ORDER BY ALL",
               "SELECT * FROM ingest.do_invoices ORDER BY ALL", "SELECT * FROM ingest.do_cost_lines ORDER BY ALL"]
    with env.connect() as conn:
        first = [conn.execute(q).fetchall() for q in queries]
    env.materialize(COST, partition_key="2026-04-01")
    with env.connect() as conn:
        assert [conn.execute(q).fetchall() for q in queries] == first


def test_raw_chunks_are_stored_compressed_and_given_back_byte_for_byte(april_closed, tmp_path, monkeypatch, capsys):
    listing = json.loads((april_closed.root / "digitalocean" / "invoices.json").read_text())
    april = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")["invoice_uuid"]
    verbatim = (april_closed.root / "digitalocean" / "invoices" / april / "invoice.csv").read_bytes()
    with april_closed.connect() as conn:
        sha = conn.execute("SELECT csv_sha256 FROM ingest.do_invoices WHERE period_start = '2026-04-01'").fetchall()[0][0]
        stored = conn.execute("SELECT encoding, octet_length(content) FROM ingest.raw_document_chunks WHERE sha256 = ?",
                              [sha]).fetchall()
    assert sha == hashlib.sha256(verbatim).hexdigest()  # the hash is of the verbatim bytes, not the stored form
    assert stored and all(encoding == "zlib" for encoding, _ in stored)
    assert sum(size for _, size in stored) < len(verbatim) / 2
    monkeypatch.setenv("BILLING_WAREHOUSE_PATH", str(april_closed.warehouse_path))
    out = tmp_path / "april.csv"
    assert cli_main(["raw-document", sha[:10], "--out", str(out)]) == 0
    assert out.read_bytes() == verbatim
    capsys.readouterr()
    for prefix, message in (("abc", "not a SHA-256 prefix of at least 8 hex digits"), ("0" * 9 + "x", "not a SHA-256"),
                            ("f" * 64, "no stored document has a SHA-256 starting ffff")):
        assert cli_main(["raw-document", prefix]) == 2
        assert message in capsys.readouterr().err


def test_a_bad_document_fails_clearly_keeps_its_bytes_and_changes_nothing_derived(env):
    env.materialize(COST, partition_key="2026-04-01")
    with env.connect() as conn:
        before = conn.execute("SELECT * FROM ingest.do_cost_lines ORDER BY ALL").fetchall()
    listing = json.loads((env.root / "digitalocean" / "invoices.json").read_text())
    april = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")["invoice_uuid"]
    (env.root / "digitalocean" / "invoices" / april / "invoice.csv").write_bytes(
        b"<html><body>503 Service Unavailable</body></html>\n")
    # do_invoices records what DigitalOcean served; do_cost_lines, the one step that parses the CSV, refuses it.
    with pytest.raises(Exception, match="invoice.csv: got an HTML/XML page instead of data"):
        env.materialize(COST, partition_key="2026-04-01")
    with env.connect() as conn:
        assert conn.execute("SELECT * FROM ingest.do_cost_lines ORDER BY ALL").fetchall() == before
        html = [sha for (sha,) in conn.execute("SELECT sha256 FROM ingest.raw_documents WHERE kind = 'invoice_csv' "
                                               "AND doc_key = ?", [april]).fetchall()
                if raw_bytes(conn, sha).startswith(b"<html>")]
        served = conn.execute("SELECT csv_sha256 FROM ingest.do_invoices WHERE period_start = '2026-04-01'").fetchall()
    assert len(html) == 1 and served == [(html[0],)]


def test_a_malformed_invoice_list_is_refused_and_its_bytes_kept(env):
    (env.root / "digitalocean" / "invoices.json").write_bytes(b'{"invoices": [{"invoice_uuid": ')
    with pytest.raises(Exception, match="invoices.json"):
        env.materialize(COST, partition_key="2026-04-01")
    with env.connect() as conn:
        kept = conn.execute("SELECT size_bytes FROM ingest.raw_documents WHERE uri LIKE '%invoices.json'").fetchall()
        derived = conn.execute("SELECT count(*) FROM ingest.do_invoices").fetchone()[0]
    assert kept == [(31,)] and derived == 0


def test_totals_check_blocks_when_lines_do_not_tie_out(env):
    env.materialize(COST, partition_key="2026-04-01")
    with env.connect() as conn:
        before = conn.execute("SELECT * FROM ingest.do_cost_lines ORDER BY ALL").fetchall()
    listing_path = env.root / "digitalocean" / "invoices.json"
    listing = json.loads(listing_path.read_text())
    for invoice in listing["invoices"]:
        if invoice["invoice_period"] == "2026-04":
            invoice["amount"] = "1.00"
    listing_path.write_text(json.dumps(listing))
    result = env.materialize(COST, partition_key="2026-04-01", raise_on_error=False)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["lines_sum_to_invoice"].passed
    assert "≠ invoice amount 100" in checks["lines_sum_to_invoice"].metadata["details"].value
    with env.connect() as conn:  # the refused documents did not replace the month's lines
        assert conn.execute("SELECT * FROM ingest.do_cost_lines ORDER BY ALL").fetchall() == before


def test_a_csv_missing_a_line_is_refused_and_the_month_keeps_its_lines(env):
    env.materialize(COST, partition_key="2026-04-01")
    with env.connect() as conn:
        before = conn.execute("SELECT * FROM ingest.do_cost_lines ORDER BY ALL").fetchall()
    listing = json.loads((env.root / "digitalocean" / "invoices.json").read_text())
    april = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")["invoice_uuid"]
    csv = env.root / "digitalocean" / "invoices" / april / "invoice.csv"
    csv.write_text("".join(csv.read_text().splitlines(keepends=True)[:-1]))  # the last line lost in transit
    result = env.materialize(COST, partition_key="2026-04-01", raise_on_error=False)
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["lines_sum_to_invoice"].passed and not checks["csv_and_json_agree"].passed
    with env.connect() as conn:
        assert conn.execute("SELECT * FROM ingest.do_cost_lines ORDER BY ALL").fetchall() == before
    meta = result.asset_materializations_for_node("do_cost_lines")[0].metadata
    assert meta["kept_as_before"].value.startswith("yes: its documents failed a check")


def test_unissued_and_usage_free_months_are_recorded_as_such(env, do_api):
    listing = json.loads(do_api.documents["invoices.json"])
    listing["invoices"] = [i for i in listing["invoices"] if i["invoice_period"] != "2026-10"]
    listing["invoice_preview"]["invoice_period"] = "2026-10"
    do_api.documents = {**do_api.documents, "invoices.json": json.dumps(listing).encode()}
    api = api_env(env, do_api)
    result = api.materialize(["do_invoices"], partition_key="2026-10-01")
    meta = result.asset_materializations_for_node("do_invoices")[0].metadata
    assert meta["status"].value == "not_issued_yet"
    result = api.materialize(COST, partition_key="2025-06-01")
    assert result.asset_materializations_for_node("do_invoices")[0].metadata["status"].value == "no_usage"


def test_dropped_control_panel_csv_is_used_when_the_list_lacks_the_month(env, world_template):
    folder = env.root / "digitalocean"
    listing = json.loads((folder / "invoices.json").read_text())
    april = next(i for i in listing["invoices"] if i["invoice_period"] == "2026-04")
    listing["invoices"].remove(april)
    (folder / "invoices.json").write_text(json.dumps(listing))
    (folder / "csv").mkdir()
    shutil.copy(folder / "invoices" / april["invoice_uuid"] / "invoice.csv",
                folder / "csv" / "DigitalOcean Invoice 2026 Apr (1-30).csv")
    env.materialize(COST, partition_key="2026-04-01")
    got = lines(env)
    assert sum(r[10] for r in got) == int(april["amount"].replace(".", ""))
    assert all(r[14] is None and r[15] is None for r in got)  # no ids without the JSON items


def test_invoice_sensor_requests_new_and_changed_months(env):
    resource = DigitalOceanResource(export_dir=str(env.root / "digitalocean"))
    with dg.build_sensor_context(resources={"digitalocean": resource}) as context:
        first = do_invoice_sensor(context)
        assert sorted(r.partition_key for r in first.run_requests) == [f"2026-{m:02d}-01" for m in range(1, 11)]
        cursor = first.cursor
    with dg.build_sensor_context(resources={"digitalocean": resource}, cursor=cursor) as context:
        assert isinstance(do_invoice_sensor(context), dg.SkipReason)
    changed = json.loads(cursor)
    changed["2026-04"] += 1
    assert changed_periods(json.loads(cursor), changed, {"2026-04-01"}) == ["2026-04"]
    assert changed_periods({"2030-01": 5}, {}, {"2026-04-01"}) == []


def test_the_inventory_keeps_history_in_one_upsert(env):
    """A resource keeps its first sighting; one DigitalOcean forgets keeps its last; a renamed one takes
    its new name; a droplet listed twice in one fetch (as in droplets and droplets_gpus) is one row."""
    path = env.root / "digitalocean" / "resources" / "droplets.json"
    listing = json.loads(path.read_text())
    first, second = listing["droplets"][0], listing["droplets"][1]
    env.materialize(["do_resources"])
    with env.connect() as conn:
        before = {r[0]: r[1:] for r in conn.execute(
            "SELECT resource_key, name, first_seen_at, last_seen_at FROM ingest.do_resources").fetchall()}
    listing["droplets"] = [{**first, "name": "renamed-web"}, *listing["droplets"][2:], {**first, "name": "renamed-web"}]
    path.write_text(json.dumps(listing))
    env.materialize(["do_resources"])
    with env.connect() as conn:
        after = {r[0]: r[1:] for r in conn.execute(
            "SELECT resource_key, name, first_seen_at, last_seen_at FROM ingest.do_resources").fetchall()}
    renamed, forgotten = f"droplet:{first['id']}", f"droplet:{second['id']}"
    assert after.keys() == before.keys()
    assert after[renamed][0] == "renamed-web" and after[renamed][1] == before[renamed][1]  # first sighting kept
    assert after[renamed][2] > before[renamed][2]                                          # seen again
    assert after[forgotten] == before[forgotten]                                           # frozen, not deleted
