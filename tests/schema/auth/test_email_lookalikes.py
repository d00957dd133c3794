"""Look-alike emails: what reads as one address is one account. Fullwidth letters,
invisible characters, upper case, a trailing dot and an IDN's two spellings all name the
same account wherever an email is taken (register, login, addMember, a guest order, a
transfer, the waitlist); letters of another script that pass for Latin ones are refused."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.schema.auth.helpers import LOGIN
from tests.schema.tickets.helpers import accept, purchase, transfer
from tests.support import commerce, factories, waitlist
from tests.support.gql import GraphQLClient, payload_errors

ANNA = "anna@example.com"
# What reads as anna@example.com
SPELLINGS = {
    "fullwidth": "\uff41\uff4e\uff4e\uff41@\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",
    "zero-width space and joiner": "an\u200bna@exam\u200dple.com",
    "soft hyphen": "an\u00adna@example.com",
    "trailing dot": "anna@example.com.",
    "upper case": "ANNA@EXAMPLE.COM",
    "fullwidth at sign": "anna\uff20example.com",
}
# Latin-looking letters of other scripts: a different address, refused
CYRILLIC_A = "\u0430nna@example.com"  # a Cyrillic a, then Latin letters
GREEK_OMICRON_DOMAIN = "anna@exampl\u0435.c\u03bfm"  # a Cyrillic e and a Greek o in the domain
ALL_CYRILLIC_LOCAL = "\u0430\u0440\u0440\u04cf\u0435@example.com"  # all Cyrillic, reads "apple"


async def register(gql: GraphQLClient, email: str) -> dict[str, Any]:
    data = await gql(
        factories.REGISTER,
        {"input": {"email": email, "password": factories.PASSWORD, "name": "Anna"}},
    )
    return dict(data["register"])


async def login(gql: GraphQLClient, email: str) -> dict[str, Any]:
    data = await gql(LOGIN, {"input": {"email": email, "password": factories.PASSWORD}})
    return dict(data["login"])


@pytest.mark.parametrize("spelling", SPELLINGS.values(), ids=SPELLINGS.keys())
async def test_a_look_alike_spelling_is_the_same_account(gql: GraphQLClient, spelling: str) -> None:
    anna = await register(gql, ANNA)

    again = await register(gql, spelling)
    signed_in = await login(gql, spelling)

    assert payload_errors(again) == [("CONFLICT", ["email"])]
    assert signed_in["errors"] == [] and signed_in["user"]["id"] == anna["user"]["id"]


async def test_a_look_alike_spelling_is_stored_as_the_plain_address(gql: GraphQLClient) -> None:
    created = await register(gql, SPELLINGS["zero-width space and joiner"].upper())

    assert created["errors"] == []
    assert created["user"]["email"] == ANNA


async def test_an_international_domain_is_one_address_in_either_spelling(
    gql: GraphQLClient,
) -> None:
    created = await register(gql, "Jos\u00e9@B\u00fccher.DE")

    ascii_spelling = await register(gql, "jos\u00e9@xn--bcher-kva.de")
    signed_in = await login(gql, "JOS\u00c9@XN--BCHER-KVA.DE")

    assert created["user"]["email"] == "jos\u00e9@b\u00fccher.de"
    assert payload_errors(ascii_spelling) == [("CONFLICT", ["email"])]
    assert signed_in["user"]["id"] == created["user"]["id"]


@pytest.mark.parametrize("email", [CYRILLIC_A, GREEK_OMICRON_DOMAIN, ALL_CYRILLIC_LOCAL])
async def test_latin_look_alikes_from_other_scripts_are_refused(
    gql: GraphQLClient, email: str
) -> None:
    await register(gql, ANNA)
    await register(gql, "apple@example.com")

    refused = await register(gql, email)
    signed_in = await login(gql, email)

    assert payload_errors(refused) == [("VALIDATION", ["email"])]
    assert "look alike" in refused["errors"][0]["message"]
    assert payload_errors(signed_in) == [("INVALID_CREDENTIALS", None)]


async def test_a_mixed_script_look_alike_of_an_existing_account_is_refused(
    gql: GraphQLClient,
) -> None:
    # An all-Cyrillic address, and the same letters in Latin before a Cyrillic domain:
    # each part is written in one script, but one reads as the other.
    cyrillic = await register(gql, "\u0430\u0430@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444")

    latin = await register(gql, "aa@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444")

    assert cyrillic["errors"] == []
    assert payload_errors(latin) == [("CONFLICT", ["email"])]
    assert "looks the same" in latin["errors"][0]["message"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("paypal@example.com", "paypa1@example.com"),  # one script: different names
        ("ivan@example.com", "\u0438\u0432\u0430\u043d@example.com"),  # Cyrillic, not Latin-like
    ],
)
async def test_different_addresses_that_are_not_mixed_script_look_alikes_are_accepted(
    gql: GraphQLClient, first: str, second: str
) -> None:
    assert (await register(gql, first))["errors"] == []
    assert (await register(gql, second))["errors"] == []


@pytest.mark.parametrize(
    "email",
    [
        "\u0438\u0432\u0430\u043d@\u043f\u0440\u0438\u043c\u0435\u0440.\u0440\u0444",
        "\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae@\u03c0\u03b1\u03c1\u03ac\u03b4\u03b5\u03b9\u03b3\u03bc\u03b1.\u03b4\u03bf\u03ba\u03b9\u03bc\u03ae",
        "tanaka\u592a\u90ce@example.jp",  # Latin with Han: Highly Restrictive allows it
    ],
)
async def test_addresses_in_one_script_register(gql: GraphQLClient, email: str) -> None:
    created = await register(gql, email)

    assert created["errors"] == [], created["errors"]


async def test_add_member_finds_the_account_by_any_spelling_and_refuses_look_alikes(
    gql: GraphQLClient,
) -> None:
    org = await factories.create_org(gql)
    anna = await register(gql, ANNA)

    def add(email: str) -> Any:
        return gql(
            factories.ADD_MEMBER,
            {"input": {"organizationId": org.id, "email": email, "role": "STAFF"}},
            token=org.owner.token,
        )

    look_alike = (await add(CYRILLIC_A))["addMember"]
    added = (await add(SPELLINGS["fullwidth"]))["addMember"]

    assert payload_errors(look_alike) == [("VALIDATION", ["email"])]
    assert added["errors"] == [] and added["member"]["user"]["id"] == anna["user"]["id"]


async def test_a_guest_order_by_any_spelling_is_the_accounts_and_look_alikes_are_refused(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql)
    anna = await register(gql, ANNA)

    placed = await commerce.order(gql, sale, buyer_email=SPELLINGS["zero-width space and joiner"])
    refused = await commerce.order(gql, sale, buyer_email=CYRILLIC_A)
    mine = await gql("{ myOrders { id buyerEmail } }", token=anna["accessToken"])

    assert placed["errors"] == []
    assert payload_errors(refused) == [("VALIDATION", ["buyerEmail"])]
    assert mine["myOrders"] == [{"id": placed["order"]["id"], "buyerEmail": ANNA}]


async def test_a_transfer_to_any_spelling_reaches_the_account_and_look_alikes_are_refused(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client)
    anna = await register(gql, ANNA)
    recipient = factories.TestUser(anna["user"]["id"], ANNA, anna["accessToken"])

    refused = await transfer(gql, bought.buyer, bought.ticket["id"], CYRILLIC_A)
    offered = await transfer(gql, bought.buyer, bought.ticket["id"], SPELLINGS["fullwidth"])
    accepted = await accept(gql, recipient, offered["transfer"]["acceptToken"])

    assert payload_errors(refused) == [("VALIDATION", ["recipientEmail"])]
    assert offered["transfer"]["recipientEmail"] == ANNA
    assert accepted["errors"] == [] and accepted["transfer"]["ticket"]["holderEmail"] == ANNA


async def test_the_waitlist_takes_any_spelling_as_the_address_and_refuses_look_alikes(
    gql: GraphQLClient,
) -> None:
    sale = await waitlist.waitlisted_sale(gql, quantity=1)
    await waitlist.sell_out(gql, sale, 1)

    joined = await waitlist.join(gql, sale, email=SPELLINGS["trailing dot"])
    again = await waitlist.join(gql, sale, email=SPELLINGS["fullwidth"])
    refused = await waitlist.join(gql, sale, email=CYRILLIC_A)

    assert joined["errors"] == [] and joined["entry"]["email"] == ANNA
    assert payload_errors(again) == [("CONFLICT", ["email"])]
    assert payload_errors(refused) == [("VALIDATION", ["email"])]
