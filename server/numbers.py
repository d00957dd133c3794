"""Whole numbers from untrusted text (headers, query strings, signed fields).

`str.isdigit` also accepts digits `int()` refuses ("²"), and `int()` refuses more than
4,300 digits with a ValueError: checking one and calling the other turned odd input into
a 500. Here both are one check, with a bound on length that fits the use."""

from __future__ import annotations


def whole_number(text: str | None, *, max_digits: int = 18) -> int | None:
    """The value of ASCII decimal digits (at most `max_digits`), else None."""
    if text is None or not 0 < len(text) <= max_digits:
        return None
    if not text.isascii() or not text.isdigit():
        return None
    return int(text)
