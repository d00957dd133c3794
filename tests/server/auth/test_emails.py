"""The email normal form and its refusals, case by case (the API tests cover each path)."""

from __future__ import annotations

import pytest

from server.auth.emails import normalize_email, validate_email
from server.auth.errors import InvalidEmail, MixedScriptEmail


@pytest.mark.parametrize(
    "typed",
    [
        "anna@example.com",
        " Anna@Example.COM ",
        "an\u202ena@example.com",  # a right-to-left override
        "anna\ufe0f@example.com",  # a variation selector
        "an\U000e0041na@example.com",  # a tag character
        "anna\u2060@example.com",  # a word joiner
        "\uff41\uff4e\uff4e\uff41\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",
        "anna@example.com.",
        "anna@example\u3002com",  # an ideographic full stop between the labels
    ],
)
def test_spellings_that_read_as_one_address_are_one_address(typed: str) -> None:
    assert validate_email(typed) == "anna@example.com"
    assert normalize_email(typed) == "anna@example.com"


@pytest.mark.parametrize(
    "typed",
    [
        "anna@example..com",
        "anna@.example.com",
        "anna@example.com..",
        "anna@b\u00fc_cher.de",  # IDNA refuses an underscore
        "anna@" + "a" * 64 + ".com",
        "a" * 65 + "@example.com",
        "anna@example.com" + " " * 2000,
        "anna",
        "@example.com",
    ],
)
def test_malformed_addresses_are_invalid(typed: str) -> None:
    with pytest.raises(InvalidEmail):
        validate_email(typed)


@pytest.mark.parametrize(
    "typed",
    [
        "p\u0430ypal@example.com",  # a Cyrillic a among Latin letters
        "paypal@p\u0430ypal.com",  # ... in a domain label
        "\u0455\u0441\u043e\u0440\u0435@example.com",  # all Cyrillic, reads "scope"
        "\u03bf\u03bf@example.com",  # all Greek, reads "oo"
    ],
)
def test_letters_that_pass_for_another_scripts_are_refused(typed: str) -> None:
    with pytest.raises(MixedScriptEmail):
        validate_email(typed)


def test_normalizing_never_fails_and_bounds_its_work() -> None:
    assert normalize_email("not an email") == "not an email"
    assert len(normalize_email("x" * 100_000)) == 1000
