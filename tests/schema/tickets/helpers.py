"""Tickets bought through the API: an event on sale, a signed-in buyer's order, paid with
the TEST provider (the same webhook path as the real providers), then the buyer's
tickets as `myTickets` shows them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

TICKET_FIELDS = """
  id status holderEmail qrCode issuedAt
  ticketType { id name }
  occurrence { id startsAt }
  event { id title }
  seat { id section row number }
  checkIns { id at location occurrence { id } }
"""
MY_TICKETS = f"query {{ myTickets {{ {TICKET_FIELDS} }} }}"
CHECK_IN = f"""
mutation($input: CheckInInput!) {{
  checkIn(input: $input) {{
    ticket {{ {TICKET_FIELDS} }}
    checkIn {{ id at location occurrence {{ id }} }}
    errors {{ field message code }}
  }}
}}
"""
TRANSFER_FIELDS = f"""
  id recipientEmail status acceptToken createdAt expiresAt acceptedAt
  ticket {{ {TICKET_FIELDS} }}
"""
TRANSFER = f"""
mutation($input: TransferTicketInput!) {{
  transferTicket(input: $input) {{
    transfer {{ {TRANSFER_FIELDS} }}
    errors {{ field message code }}
  }}
}}
"""
ACCEPT = f"""
mutation($token: String!) {{
  acceptTransfer(token: $token) {{
    transfer {{ {TRANSFER_FIELDS} }}
    errors {{ field message code }}
  }}
}}
"""
CANCEL_TRANSFER = f"""
mutation($id: ID!) {{
  cancelTransfer(id: $id) {{
    transfer {{ {TRANSFER_FIELDS} }}
    errors {{ field message code }}
  }}
}}
"""


@dataclass
class Purchase:
    sale: commerce.Sale
    buyer: factories.TestUser
    order_id: str
    tickets: list[dict[str, Any]]

    @property
    def ticket(self) -> dict[str, Any]:
        return self.tickets[0]


async def my_tickets(gql: GraphQLClient, user: factories.TestUser) -> list[dict[str, Any]]:
    data = await gql(MY_TICKETS, token=user.token)
    return list(data["myTickets"])


async def purchase(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    *,
    quantity: int = 1,
    sale: commerce.Sale | None = None,
    buyer: factories.TestUser | None = None,
    item: dict[str, Any] | None = None,
    **sale_options: Any,
) -> Purchase:
    """`quantity` tickets for the sale's first date (a new sale unless given)."""
    sale = sale or await commerce.sale(gql, **sale_options)
    buyer = buyer or await factories.register(gql)
    placed = await commerce.order(
        gql,
        sale,
        quantity,
        token=buyer.token,
        item=item or {},
        occurrenceId=sale.occurrence_ids[0],
    )
    assert placed["errors"] == [], placed["errors"]
    order_id = placed["order"]["id"]
    await commerce.pay_with_test(gql, http, order_id, token=buyer.token)
    tickets = [t for t in await my_tickets(gql, buyer) if t["event"]["id"] == sale.event_id]
    return Purchase(sale, buyer, order_id, tickets)


async def check_in(
    gql: GraphQLClient,
    qr_code: str,
    *,
    token: str | None = None,
    api_key: str | None = None,
    occurrence_id: str | None = None,
    location: str | None = None,
) -> dict[str, Any]:
    data = await gql(
        CHECK_IN,
        {"input": {"qrCode": qr_code, "occurrenceId": occurrence_id, "location": location}},
        token=token,
        api_key=api_key,
    )
    return dict(data["checkIn"])


async def transfer(
    gql: GraphQLClient, user: factories.TestUser, ticket_id: str, email: str
) -> dict[str, Any]:
    data = await gql(
        TRANSFER, {"input": {"ticketId": ticket_id, "recipientEmail": email}}, token=user.token
    )
    return dict(data["transferTicket"])


async def accept(gql: GraphQLClient, user: factories.TestUser, token: str) -> dict[str, Any]:
    data = await gql(ACCEPT, {"token": token}, token=user.token)
    return dict(data["acceptTransfer"])


SEATS = """
query($o: ID!) { seatAvailability(occurrenceId: $o) { seat { id section row number } state } }
"""


async def seated_sale(gql: GraphQLClient, seats: int = 6) -> tuple[commerce.Sale, list[str]]:
    """An event on a seatmap of `seats` seats in section A, one seated ticket type; and
    the event's seat ids."""
    org = await factories.create_org(gql)
    venue = await gql(
        "mutation($i: CreateVenueInput!) { createVenue(input: $i) { venue { id } } }",
        {"i": {"organizationId": org.id, "name": "Hall", "timezone": "UTC"}},
        token=org.owner.token,
    )
    venue_id = venue["createVenue"]["venue"]["id"]
    seatmap = await gql(
        "mutation($i: CreateSeatmapInput!) { createSeatmap(input: $i) { seatmap { id } } }",
        {
            "i": {
                "venueId": venue_id,
                "name": "Stalls",
                "seats": [
                    {"section": "A", "row": "1", "number": str(n)} for n in range(1, seats + 1)
                ],
            }
        },
        token=org.owner.token,
    )
    sale = await commerce.sale(
        gql,
        org,
        quantity=seats,
        event={"venueId": venue_id, "seatmapId": seatmap["createSeatmap"]["seatmap"]["id"]},
        ticket_type={"sections": ["A"]},
    )
    found = await gql(SEATS, {"o": sale.occurrence_ids[0]})
    return sale, [s["seat"]["id"] for s in found["seatAvailability"]]
