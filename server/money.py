"""Money as integer minor units plus an ISO 4217 currency; never floats.

`to_minor` is the only way an amount from a client becomes an integer, and `format_amount`
the only way back, so the currency's exponent is applied in exactly one place."""

from __future__ import annotations

from decimal import Decimal

from server.errors import ValidationError

_ZERO_DECIMAL = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE_DECIMAL = "BHD IQD JOD KWD LYD OMR TND"
_TWO_DECIMAL = (
    "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
    "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS "
    "GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN "
    "SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VES WST XCD YER ZAR ZMW ZWL"
)
EXPONENTS: dict[str, int] = {
    **{c: 0 for c in _ZERO_DECIMAL.split()},
    **{c: 2 for c in _TWO_DECIMAL.split()},
    **{c: 3 for c in _THREE_DECIMAL.split()},
}
MAX_MINOR = 10**15  # far above any ticket price; keeps sums inside 64-bit columns
_MAX_DIGITS = len(str(MAX_MINOR)) - 1  # Decimal.adjusted() of the largest amount in any currency


def is_currency(code: str) -> bool:
    return code in EXPONENTS


def exponent(currency: str) -> int:
    return EXPONENTS[currency]


def normalize_currency(code: str, field: str | list[str] = "currency") -> str:
    value = code.strip().upper()
    if value not in EXPONENTS:
        raise ValidationError(f"Unknown currency {code!r}; use an ISO 4217 code.", field=field)
    return value


def to_minor(
    amount: Decimal, currency: str, *, field: str | list[str] = "amount", allow_zero: bool = True
) -> int:
    """An amount in major units (e.g. "12.50" USD) as minor units (1250). Refuses more
    decimal places than the currency has, negatives, and absurd sizes."""
    places = exponent(currency)
    if not amount.is_finite():
        raise ValidationError("Not a valid amount.", field=field)
    # Size and decimal places are read from the digits, before any arithmetic: scaling
    # 1e999999 overflows the decimal context, and 1e-1000100 underflows to a silent zero.
    if amount != 0 and amount.adjusted() > _MAX_DIGITS:
        message = "The amount must be positive." if amount < 0 else "The amount is too large."
        raise ValidationError(message, field=field)
    _, digits, exp = amount.as_tuple()
    assert isinstance(exp, int)  # finite
    beyond = -exp - places  # digits past the currency's last decimal place
    if beyond > 0 and any(digits[max(0, len(digits) - beyond) :]):
        raise ValidationError(
            f"{currency} amounts have at most {places} decimal places.", field=field
        )
    minor = int(amount.scaleb(places))
    if minor < 0 or (minor == 0 and not allow_zero):
        raise ValidationError("The amount must be positive.", field=field)
    if minor > MAX_MINOR:
        raise ValidationError("The amount is too large.", field=field)
    return minor


def format_amount(minor: int, currency: str) -> Decimal:
    places = EXPONENTS.get(currency, 2)
    return (Decimal(minor) / (Decimal(10) ** places)).quantize(Decimal(1).scaleb(-places))


def money_text(minor: int, currency: str) -> str:
    """An amount as people read it in messages: "12.50 USD", never minor units."""
    return f"{format_amount(minor, currency)} {currency}"
