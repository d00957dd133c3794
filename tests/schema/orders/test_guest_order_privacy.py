"""A guest order's id lets its holder follow and pay the order, but a stranger handed the
id learns only a hint of the buyer's email; the buyer and the organization see it all."""

from __future__ import annotations

import httpx

from server.orders.reading import masked_email
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

ORDER = "query($id: ID!) { order(id: $id) { id status buyerEmail total { amount } } }"


def test_the_hint_keeps_the_first_letters_and_the_top_level_domain() -> None:
    assert masked_email("ada.lovelace@example.co.uk") == "a***@e***.uk"
    assert masked_email("b@x.io") == "b***@x***.io"
    assert masked_email("odd@localhost") == "o***@l***"


async def test_a_guest_order_read_by_id_shows_only_a_hint_of_the_email(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.sale(gql)
    placed = await commerce.order(gql, sale, 1, buyer_email="ada.lovelace@example.com")
    order_id = placed["order"]["id"]

    anonymous = await gql(ORDER, {"id": order_id})
    organizer = await gql(ORDER, {"id": order_id}, token=sale.org.owner.token)
    guest_signed_up = await factories.register(gql, "ada.lovelace@example.com")
    own = await gql("{ myOrders(first: 5) { buyerEmail } }", token=guest_signed_up.token)

    assert anonymous["order"]["status"] == "PENDING"
    assert anonymous["order"]["total"] == {"amount": "25.00"}
    assert anonymous["order"]["buyerEmail"] == "a***@e***.com"
    assert organizer["order"]["buyerEmail"] == "ada.lovelace@example.com"
    assert own["myOrders"] == [{"buyerEmail": "ada.lovelace@example.com"}]


async def test_the_guest_can_still_pay_with_the_id_alone(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.sale(gql)
    placed = await commerce.order(gql, sale, 1, buyer_email="grace@example.com")

    await commerce.pay_with_test(gql, client, placed["order"]["id"])

    paid = await gql(ORDER, {"id": placed["order"]["id"]})
    assert paid["order"]["status"] == "CONFIRMED"
    assert paid["order"]["buyerEmail"] == "g***@e***.com"
