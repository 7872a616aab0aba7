"""The USD conversion rule has one SQL form (sql/marts/usd_minor.sql: the margin marts and receivables
aging) and one Python form (the running month's estimate, projection.to_usd_minor). Both are held to
hand-computed cents here, and to each other over random amounts, rates and every currency exponent."""

import random
from decimal import Decimal

import duckdb
import pytest

from billing_assets.money import CURRENCY_EXPONENTS
from billing_assets.revenue.estimates.projection import to_usd_minor
from billing_assets.warehouse import run_sql


def sql_usd_minor(cases: list[tuple[int, str, Decimal | None]]) -> list[int | None]:
    conn = duckdb.connect()
    run_sql(conn, "marts/usd_minor.sql")
    conn.execute("CREATE TABLE cases (n INTEGER, amount_minor BIGINT, currency VARCHAR, "
                 "usd_per_unit DECIMAL(18, 8), exponent INTEGER)")  # the types of margin.fx_rates and the lines
    conn.executemany("INSERT INTO cases VALUES (?, ?, ?, ?, ?)",
                     [(n, a, c, r, CURRENCY_EXPONENTS[c]) for n, (a, c, r) in enumerate(cases)])
    return [row[0] for row in conn.execute(
        "SELECT usd_minor(amount_minor, currency, usd_per_unit, exponent) FROM cases ORDER BY n").fetchall()]


@pytest.mark.parametrize(("amount", "currency", "rate", "cents"), [
    # AUD 1,234.56 at 0.654321: 123456 x 0.654321 = 80,779.853376 cents -> 80,780
    (123456, "AUD", Decimal("0.654321"), 80780),
    # JPY 7,500 (no decimals) at 0.0067: 7500 x 0.0067 = 50.25 dollars = 5,025 cents
    (7500, "JPY", Decimal("0.0067"), 5025),
    # KWD 1.234 (three decimals) at 3.25: 1234 x 3.25 / 10 = 401.05 cents -> 401
    (1234, "KWD", Decimal("3.25"), 401),
    # EUR 0.01 at 1.5: 1.5 cents, half away from zero -> 2; a credit of the same -> -2
    (1, "EUR", Decimal("1.5"), 2),
    (-1, "EUR", Decimal("1.5"), -2),
    # EUR 0.05 at 0.5: 2.5 cents -> 3 (half-to-even would give 2)
    (5, "EUR", Decimal("0.5"), 3),
    # USD converts at 1 whatever the rate table holds, and needs no rate
    (999, "USD", None, 999),
    (999, "USD", Decimal("2"), 999),
])
def test_hand_computed_cents(amount, currency, rate, cents):
    assert to_usd_minor(amount, currency, rate) == cents
    assert sql_usd_minor([(amount, currency, rate)]) == [cents]


def test_sql_and_python_agree_everywhere():
    rng = random.Random(16)
    currencies = sorted(CURRENCY_EXPONENTS)
    cases = [(rng.randrange(-10**9, 10**9), rng.choice(currencies), Decimal(rng.randrange(1, 10**10)) / 10**8)
             for _ in range(5_000)]
    python = [to_usd_minor(a, c, r) for a, c, r in cases]
    assert sql_usd_minor(cases) == python
