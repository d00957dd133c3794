"""Order.tickets, end to end through the API: createOrder, createPayment with TEST, the
provider's webhook path, then the order's tickets as each viewer may see them."""

from __future__ import annotations

import httpx

from tests.schema.tickets.helpers import TICKET_FIELDS, accept, purchase, transfer
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

ORDER = f"query($id: ID!) {{ order(id: $id) {{ id status tickets {{ {TICKET_FIELDS} }} }} }}"


async def _order_tickets(
    gql: GraphQLClient, order_id: str, token: str
) -> list[dict[str, object]] | None:
    data = await gql(ORDER, {"id": order_id}, token=token)
    return None if data["order"] is None else list(data["order"]["tickets"])


async def test_a_paid_order_lists_its_tickets_for_the_buyer_and_the_staff(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client, quantity=2)
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")

    for_buyer = await _order_tickets(gql, bought.order_id, bought.buyer.token)
    for_staff = await _order_tickets(gql, bought.order_id, staff.token)

    assert for_buyer is not None and for_staff is not None
    assert {t["id"] for t in for_buyer} == {t["id"] for t in bought.tickets}
    assert for_staff == for_buyer
    assert {t["status"] for t in for_buyer} == {"VALID"}


async def test_a_pending_order_has_no_tickets_yet(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql)
    buyer = await factories.register(gql)
    placed = await commerce.order(gql, sale, 2, token=buyer.token)

    assert await _order_tickets(gql, placed["order"]["id"], buyer.token) == []


async def test_after_a_transfer_the_buyer_sees_the_retired_ticket_and_not_its_successor(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    bought = await purchase(gql, client, quantity=2)
    friend = await factories.register(gql)
    token = (await transfer(gql, bought.buyer, bought.ticket["id"], friend.email))["transfer"][
        "acceptToken"
    ]
    new_id = (await accept(gql, friend, token))["transfer"]["ticket"]["id"]

    for_buyer = await _order_tickets(gql, bought.order_id, bought.buyer.token)
    for_owner = await _order_tickets(gql, bought.order_id, bought.sale.org.owner.token)

    assert for_buyer is not None and for_owner is not None
    assert sorted((t["id"], t["status"]) for t in for_buyer) == sorted(
        [(bought.tickets[0]["id"], "TRANSFERRED"), (bought.tickets[1]["id"], "VALID")]
    )
    assert new_id in {t["id"] for t in for_owner} and len(for_owner) == 3
