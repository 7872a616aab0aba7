"""minor_text is minor_to_major's text, computed from integers: the same digits, sign, decimals and
thousands separators for every currency exponent, so reports that use it print what the Decimal would."""

import random

from billing_assets.money import CURRENCY_EXPONENTS, minor_text, minor_to_major


def test_minor_text_is_the_text_of_minor_to_major():
    rng = random.Random(16)
    amounts = [0, 1, -1, 5, -5, 99, 100, -100, 12345, -12345, 999_999, 10**17, -(10**17) - 7,
               *(rng.randrange(-10**15, 10**15) for _ in range(3_000))]
    for currency in sorted(CURRENCY_EXPONENTS):  # every exponent we know: 0, 2 and 3
        exp = CURRENCY_EXPONENTS[currency]
        for amount in amounts:
            major = minor_to_major(amount, currency)
            assert minor_text(amount, exp) == str(major), (currency, amount)
            assert minor_text(amount, exp, grouped=True) == f"{major:,}", (currency, amount)


def test_hand_written_cases():
    assert minor_text(-1234, 2) == "-12.34"
    assert minor_text(-5, 2) == "-0.05"
    assert minor_text(123456789, 2, grouped=True) == "1,234,567.89"
    assert minor_text(-7500, 0, grouped=True) == "-7,500"
    assert minor_text(1234567, 3, grouped=True) == "1,234.567"
