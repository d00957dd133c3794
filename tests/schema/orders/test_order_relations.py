"""An order reaches its event, date and ticket types, and its tickets the same rows, through
the loaders they share; a hold reaches its ticket type."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

ORDER = """
query($id: ID!) { order(id: $id) {
  event { id slug }
  occurrence { id startsAt endsAt capacity }
  items { ticketType { id name } }
  tickets { event { id } occurrence { id } ticketType { id } }
} }
"""
HOLD = """
mutation($i: CreateHoldInput!) { createHold(input: $i) {
  hold { ticketType { id name } } errors { code } } }
"""


async def test_an_order_and_its_tickets_show_the_same_event_date_and_ticket_type(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    sale = await commerce.sale(gql, quantity=10, capacity=50)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, client, order["id"], token=buyer.token)

    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]

    [date] = sale.occurrence_ids
    assert seen["event"] == {"id": sale.event_id, "slug": sale.slug}
    assert seen["occurrence"]["id"] == date
    assert seen["occurrence"]["capacity"] == 50
    assert seen["occurrence"]["endsAt"] > seen["occurrence"]["startsAt"]
    assert seen["items"] == [{"ticketType": {"id": sale.ticket_type_id, "name": "Ticket 1"}}]
    ticket = {"event": {"id": sale.event_id}, "occurrence": {"id": date}}
    assert seen["tickets"] == [{**ticket, "ticketType": {"id": sale.ticket_type_id}}] * 2


async def test_a_hold_shows_its_ticket_type(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10)
    expires = (datetime.now(UTC) + timedelta(days=1)).isoformat()

    data = await gql(
        HOLD,
        {"i": {"ticketTypeId": sale.ticket_type_id, "quantity": 2, "expiresAt": expires}},
        token=sale.org.owner.token,
    )

    assert data["createHold"] == {
        "hold": {"ticketType": {"id": sale.ticket_type_id, "name": "Ticket 1"}},
        "errors": [],
    }
