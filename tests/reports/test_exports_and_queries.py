"""Analyst exports and saved queries on the sample year, checked against the marts themselves."""

import csv
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import polars as pl
import pytest

from billing_assets.cli import main as cli_main
from billing_assets.reports.exports import EXPORTS
from billing_assets.sql_files import read_sql, sql_folder

MONTHS = [f"2026-{m:02d}" for m in range(1, 11)]


def copy(env):
    return duckdb.connect(str(env.root / "exports" / "warehouse.duckdb"), read_only=True)


def test_every_export_exists_per_month_and_for_all_months_with_the_same_rows(year):
    folder = year.root / "exports" / "marts"
    for name in EXPORTS:
        whole = pl.read_parquet(folder / f"{name}_all.parquet")
        parts = [pl.read_parquet(folder / f"{name}_{m}.parquet") for m in MONTHS]
        assert whole.height == sum(p.height for p in parts) > 0, name
        assert whole.equals(pl.concat(parts)), name  # the same rows, in the same order
        assert (folder / f"{name}_all.csv").exists() and (folder / f"{name}_2026-04.csv").exists()


def test_csv_amounts_are_exact_decimals_beside_the_minor_units_with_iso_dates(year):
    with open(year.root / "exports" / "marts" / "tenant_invoices_2026-04.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    header = list(rows[0])
    assert header.index("total") == header.index("total_minor") + 1 and "tenant_slug" in header
    for row in rows:
        exponent = 0 if row["currency"] == "JPY" else 2
        for column in ("subtotal", "tax", "total"):
            # JPY 22000 is written 22000.00: the column's scale is the largest exponent among its currencies.
            assert Decimal(row[column]) == Decimal(row[f"{column}_minor"]).scaleb(-exponent), (row, column)
            assert re.fullmatch(r"-?\d+\.\d{2}", row[column]), row[column]
        assert row["period_start"] == "2026-04-01" and row["period_end"] == "2026-05-01"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["issued_at"]), row["issued_at"]
    acme = next(r for r in rows if r["tenant_slug"] == "acme")
    assert (acme["subtotal"], acme["tax"], acme["total"]) == ("64.22", "6.42", "70.64")  # the pilot invoice
    assert [r["tenant_slug"] for r in rows] == sorted(r["tenant_slug"] for r in rows)
    pnl = pl.read_csv(year.root / "exports" / "marts" / "monthly_pnl_all.csv", infer_schema=False)
    assert pnl["period_start"].to_list() == [f"{m}-01" for m in MONTHS]
    assert all(Decimal(a) * 100 == int(b) for a, b in zip(pnl["revenue_usd"], pnl["revenue_usd_minor"], strict=True))


def test_marts_views_are_ordered_and_carry_slugs(year):
    with copy(year) as conn:
        pnl = conn.execute("SELECT strftime(period_start, '%Y-%m') FROM marts.monthly_pnl").fetchall()
        lines = conn.execute("SELECT tenant_slug, deployment_slug, invoice_number FROM marts.tenant_invoice_lines "
                         "WHERE period_start = '2026-04-01' AND kind = 'plan_base'").fetchall()
        unnamed = conn.execute("SELECT count(*) FROM marts.tenant_invoices WHERE tenant_slug IS NULL OR "
                           "tenant_name IS NULL").fetchone()[0]
    assert [m for (m,) in pnl] == MONTHS
    assert lines and all(t and d and n for t, d, n in lines) and unnamed == 0


SAVED = sorted(p.name.removesuffix(".sql") for p in sql_folder("analyst").iterdir() if p.name.endswith(".sql"))


@pytest.mark.parametrize("name", SAVED)
def test_each_saved_query_runs_as_it_is_and_has_its_shape(year, name):
    with copy(year) as conn:
        result = conn.sql(read_sql(f"analyst/{name}.sql"))
        columns, types, rows = result.columns, [str(t) for t in result.types], result.fetchall()
        facts = dict(EXPECTED[name](conn, columns, types, rows) or {})
    assert all(facts.values()), (name, facts)


def _negative(conn, columns, types, rows):
    worst = conn.execute("SELECT deployment_slug, sum(margin_usd_minor) FROM marts.deployment_margin WHERE period_start = "
                     "'2026-10-01' AND deployment_id IS NOT NULL GROUP BY 1 ORDER BY 2 LIMIT 1").fetchone()
    return {"columns": columns == ["tenant_slug", "deployment_slug", "revenue_usd", "cost_usd", "margin_usd"],
            "exact": types[-1].startswith("DECIMAL"),
            "worst first": rows[0][1] == worst[0] and rows[0][4] * 100 == worst[1],  # luxor-infer, -2,270.16
            "all negative": all(r[4] < 0 for r in rows)}


def _trend(conn, columns, types, rows):
    return {"a column per month": columns == ["tenant_slug", *MONTHS], "a row per tenant": len(rows) == 10}


def _droplet_hour(conn, columns, types, rows):
    first = rows[0]
    return {"exact rate": types[-1] == "DECIMAL(38,6)",
            # luxor-infer, October: 257,016 cents over 2,232 hours = 1.15150537... -> 1.151505 (half-up)
            "rate": first[0] == "luxor-infer" and first[1] == "2026-10" and first[4] == Decimal("1.151505")}


def _churn(conn, columns, types, rows):
    july = conn.execute("SELECT sum(revenue_usd_minor) FROM marts.tenant_margin WHERE tenant_slug = 'fjord-analytics' "
                    "AND period_start = '2026-07-01'").fetchone()[0]
    august = conn.execute("SELECT coalesce(sum(revenue_usd_minor), 0) FROM marts.tenant_margin WHERE tenant_slug = "
                      "'fjord-analytics' AND period_start = '2026-08-01'").fetchone()[0]
    return {"columns": columns == ["month", "tenant_slug", "lost_revenue_usd"],
            "fjord churned in August": rows == [("2026-08", "fjord-analytics", Decimal(july) / 100)] and august <= 0}


def _per_unit(conn, columns, types, rows):
    kinds = {r[1] for r in rows}
    return {"kinds": {"droplet", "volume", "database"} <= kinds, "exact": types[-1] == "DECIMAL(38,6)",
            "every month": {r[0] for r in rows} == set(MONTHS)}


def _credits(conn, columns, types, rows):
    # harbour-health's 25.00 grant had 5.00 left after January (20.00 used): under a fifth.
    return {"harbour-health in January": rows == [("2026-01", "harbour-health", rows[0][2], Decimal("25.00"),
                                                   Decimal("20.00"), Decimal("20.00"), Decimal("5.00"))]}


def _unallocated(conn, columns, types, rows):
    total = conn.execute("SELECT sum(amount_minor) FROM marts.deployment_costs WHERE cost_type = 'unallocated'").fetchone()[0]
    return {"ties to the marts": sum(r[2] for r in rows) * 100 == total,
            "changes sum to the last level": all(
                sum(r[3] for r in rows if r[1] == reason) == [r[2] for r in rows if r[1] == reason][-1]
                for reason in {r[1] for r in rows})}


def _mom(conn, columns, types, rows):
    return {"a row per tenant": len(rows) == 10 and all(r[1] == "2026-10" for r in rows),
            "change = margin - previous": all(r[4] == r[2] - r[3] for r in rows if r[3] is not None),
            "largest fall first": rows[0][4] == min(r[4] for r in rows)}


EXPECTED = {"negative_margin_last_month": _negative, "tenant_margin_trend": _trend,
            "cost_per_droplet_hour": _droplet_hour, "churned_revenue": _churn, "cost_per_unit_by_kind": _per_unit,
            "credits_near_exhaustion": _credits, "unallocated_spend_trend": _unallocated,
            "margin_month_over_month": _mom}


def test_every_saved_query_has_an_expected_shape():
    assert set(EXPECTED) == set(SAVED)


def test_the_query_command_runs_a_saved_query_on_the_analysts_copy(year, monkeypatch, capsys):
    monkeypatch.setenv("BILLING_HOME", str(year.root))
    assert cli_main(["query", "churned_revenue", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith("2026-08,fjord-analytics,")
    assert cli_main(["query", "nope"]) == 2 and "no saved query 'nope'" in capsys.readouterr().err


def test_the_readmes_queries_are_the_saved_ones():
    """One text for both: every SQL block of README's "For analysts" is a saved query, as it is."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## For analysts", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sql\n(.*?)```", section, flags=re.S)

    def words(sql: str) -> str:
        return " ".join(" ".join(line for line in sql.splitlines() if not line.startswith("--")).split())

    saved = {words(read_sql(f"analyst/{name}.sql")) for name in SAVED}
    assert len(blocks) == 3 and all(words(block) in saved for block in blocks)
