"""DigitalOcean's published prices and region names, as shipped with the package.

Both are public facts that DigitalOcean's billing documents do not carry: an invoice line names a
size slug and a number of hours, never the rate. The price list makes FOCUS rows whose unit price
times quantity is their list cost exactly, and it is the one table the sample world bills from.
A size missing here still gets its SKU from the line; its unit price is then unknown (null) and
its list cost is what was billed.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources

import polars as pl

PRICE_LIST = "do_price_list.csv"
REGIONS = "do_regions.csv"


@dataclass(frozen=True)
class Price:
    sku_id: str
    product: str
    sku_meter: str
    monthly_usd: Decimal
    hourly_usd: Decimal | None  # None: billed by the month only (a subscription)
    monthly_cap_hours: int | None  # from this many hours in a month, the monthly price is billed


def _rows(name: str) -> list[dict[str, str]]:
    text = resources.files("billing_assets").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(text.splitlines()))


@cache
def price_list() -> dict[str, Price]:
    prices = {}
    for line, row in enumerate(_rows(PRICE_LIST), start=2):
        try:
            prices[row["sku_id"]] = Price(
                row["sku_id"], row["product"], row["sku_meter"], Decimal(row["price_monthly_usd"]),
                Decimal(row["price_hourly_usd"]) if row["price_hourly_usd"] else None,
                int(row["monthly_cap_hours"]) if row["monthly_cap_hours"] else None)
        except (KeyError, InvalidOperation, ValueError) as exc:
            raise ValueError(f"{PRICE_LIST} line {line}: {row} ({exc})") from None
    return prices


def price_frame() -> pl.DataFrame:
    """The price list as a relation for SQL (exact decimals)."""
    rows = [[p.sku_id, p.product, p.sku_meter, p.monthly_usd, p.hourly_usd, p.monthly_cap_hours]
            for p in price_list().values()]
    return pl.DataFrame(rows, orient="row", schema={
        "sku_id": pl.String, "product": pl.String, "sku_meter": pl.String, "price_monthly_usd": pl.Decimal(18, 6),
        "price_hourly_usd": pl.Decimal(18, 6), "monthly_cap_hours": pl.Int64})


def region_frame() -> pl.DataFrame:
    return pl.DataFrame(_rows(REGIONS), schema={"region_id": pl.String, "region_name": pl.String})
