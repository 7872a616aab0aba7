"""Money as integer minor units plus an ISO 4217 code; arithmetic in Decimal.

Rounding happens only where callers ask for it (a line, a tax amount), always half-up to the
currency's exponent, so the same inputs always give the same cents.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

# ISO 4217 minor-unit exponents. Never assume 100 minor units: JPY has none, KWD has 1000.
CURRENCY_EXPONENTS: dict[str, int] = {
    "AUD": 2, "CAD": 2, "CHF": 2, "EUR": 2, "GBP": 2, "NZD": 2, "SGD": 2, "USD": 2,
    "JPY": 0, "KRW": 0, "CLP": 0, "ISK": 0,
    "BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3,
}


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


def exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}: add it to CURRENCY_EXPONENTS") from None


def minor_per_major(currency: str) -> int:
    return 10 ** exponent(currency)


def round_half_up(value: Decimal) -> int:
    """Round a Decimal number of minor units to an integer, half away from zero."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def major_to_minor(amount: Decimal, currency: str) -> int:
    """Exact conversion of a major-unit amount; refuses amounts finer than the currency allows."""
    scaled = amount * minor_per_major(currency)
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} {currency} has more decimals than {currency} allows")
    return int(scaled)


def minor_to_major(amount_minor: int, currency: str) -> Decimal:
    exp = exponent(currency)
    return (Decimal(amount_minor) / (10**exp)).quantize(Decimal(1).scaleb(-exp))


def minor_text(amount_minor: int, exp: int, grouped: bool = False) -> str:
    """The text of `minor_to_major` (with `grouped`, of its `:,` format), from integers alone: (-1234, 2) ->
    `-12.34`, (123456789, 2, grouped) -> `1,234,567.89`, (7500, 0) -> `7500`. Reports write millions of
    amounts, and this is a quarter of the Decimal's cost; tests/test_money.py holds the two to the same text."""
    sign = "-" if amount_minor < 0 else ""
    whole, part = divmod(abs(amount_minor), 10**exp)
    whole_text = f"{whole:,}" if grouped else str(whole)
    return f"{sign}{whole_text}.{part:0{exp}d}" if exp else f"{sign}{whole_text}"


def canonical(value: object) -> str:
    """One text form per value (Decimal("0.10") and Decimal("0.1") agree), for hashes and keys."""
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def format_money(amount_minor: int, currency: str) -> str:
    """Human formatting for previews and logs: `USD 1,234.56`, `JPY 7,500`."""
    major = minor_to_major(amount_minor, currency)
    return f"{currency} {major:,}"


_AMOUNT = re.compile(r"^(?P<sign1>-?)\$?(?P<sign2>-?)(?P<digits>\d{1,3}(,\d{3})*(\.\d+)?|\d+(\.\d+)?|\.\d+)$")


def parse_amount(text: str) -> Decimal:
    """Parse a provider amount: `12.34`, `$12.34`, `-$5.00`, `$-5.00`, `$1,234.56`.

    Raises MoneyError (never returns a float) for anything else.
    """
    if text is None:
        raise MoneyError("amount is missing")
    cleaned = str(text).strip()
    match = _AMOUNT.match(cleaned)
    if not match or (match["sign1"] and match["sign2"]):
        raise MoneyError(f"not an amount: {text!r}")
    try:
        value = Decimal(match["digits"].replace(",", ""))
    except InvalidOperation:  # pragma: no cover - the regex already guarantees digits
        raise MoneyError(f"not an amount: {text!r}") from None
    return -value if (match["sign1"] or match["sign2"]) else value
