"""`to_minor` turns a client's amount into minor units, or refuses it with a clear error:
never an arithmetic exception, whatever the digits and exponent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from server.errors import ValidationError
from server.money import MAX_MINOR, to_minor


@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("12.50", "USD", 1250),
        ("12.5", "USD", 1250),
        ("5000", "NGN", 500000),
        ("1.250", "KWD", 1250),
        ("700", "JPY", 700),
        ("100.000000000000000000000000000000000000", "USD", 10000),
        ("1E+2", "USD", 10000),
        ("0", "USD", 0),
        ("0E-1000100", "USD", 0),
        ("0E+999999", "USD", 0),
        ("10000000000000.00", "USD", MAX_MINOR),
        ("1E+15", "JPY", MAX_MINOR),
    ],
)
def test_amounts_become_minor_units(amount: str, currency: str, minor: int) -> None:
    assert to_minor(Decimal(amount), currency) == minor


@pytest.mark.parametrize(
    ("amount", "currency", "message"),
    [
        ("1e999999", "USD", "The amount is too large."),
        ("-1e999999", "USD", "The amount must be positive."),
        ("1E+16", "JPY", "The amount is too large."),
        ("10000000000000.01", "USD", "The amount is too large."),
        ("NaN", "USD", "Not a valid amount."),
        ("sNaN", "USD", "Not a valid amount."),
        ("Infinity", "USD", "Not a valid amount."),
        ("-Infinity", "USD", "Not a valid amount."),
        ("1e-1000100", "USD", "USD amounts have at most 2 decimal places."),
        ("0.001", "USD", "USD amounts have at most 2 decimal places."),
        (
            "1.0000000000000000000000000000000000000001",
            "USD",
            "USD amounts have at most 2 decimal places.",
        ),
        ("0.5", "JPY", "JPY amounts have at most 0 decimal places."),
        ("-5", "USD", "The amount must be positive."),
    ],
)
def test_bad_amounts_are_refused_on_their_field(amount: str, currency: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        to_minor(Decimal(amount), currency, field=["price", "amount"])

    assert refused.value.message == message
    assert refused.value.field == ["price", "amount"]


def test_zero_is_refused_where_it_is_not_allowed() -> None:
    with pytest.raises(ValidationError) as refused:
        to_minor(Decimal("0.00"), "USD", allow_zero=False)

    assert refused.value.message == "The amount must be positive."
