"""A published event with tickets on sale, and orders and TEST payments, through the API."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support import factories
from tests.support.gql import GraphQLClient

CREATE_EVENT = """
mutation($input: CreateEventInput!) {
  createEvent(input: $input) { event { id slug occurrences { id } } errors { field message code } }
}
"""
CREATE_TICKET_TYPE = """
mutation($input: CreateTicketTypeInput!) {
  createTicketType(input: $input) { ticketType { id } errors { field message code } }
}
"""
PUBLISH = "mutation($id: ID!) { publishEvent(id: $id) { event { status } errors { field message code } } }"
CREATE_ORDER = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id status total { amount currency } subtotal { amount } fees { amount } discount { amount }
            expiresAt items { quantity unitPrice { amount } ticketType { id } } }
    errors { field message code }
  }
}
"""
CREATE_PAYMENT = """
mutation($input: CreatePaymentInput!) {
  createPayment(input: $input) {
    payment { id provider status reference clientSecret authorizationUrl amount { amount currency } }
    errors { field message code }
  }
}
"""
AVAILABILITY = """
query($eventId: ID!) { ticketAvailability(eventId: $eventId) {
  ticketTypeId occurrenceId available sold reserved held status } }
"""


@dataclass
class Sale:
    org: factories.TestOrg
    event_id: str
    slug: str
    occurrence_ids: list[str]
    ticket_type_ids: list[str] = field(default_factory=list)

    @property
    def ticket_type_id(self) -> str:
        return self.ticket_type_ids[0]


def iso(moment: datetime) -> str:
    return moment.isoformat()


async def sale(
    gql: GraphQLClient,
    org: factories.TestOrg | None = None,
    *,
    quantity: int = 100,
    price: str = "25.00",
    currency: str = "USD",
    capacity: int | None = None,
    dates: int = 1,
    publish: bool = True,
    ticket_type: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> Sale:
    """An event `dates` weeks long (one occurrence a week, starting in 30 days) with one
    ticket type on sale; `ticket_type`/`event` add or override input fields."""
    org = org or await factories.create_org(gql)
    start = datetime.now(UTC) + timedelta(days=30)
    occurrences = [
        {
            "startsAt": iso(start + timedelta(weeks=i)),
            "endsAt": iso(start + timedelta(weeks=i, hours=3)),
            "capacity": capacity,
        }
        for i in range(dates)
    ]
    data = await gql(
        CREATE_EVENT,
        {
            "input": {
                "organizationId": org.id,
                "title": "Jazz Night",
                "occurrences": occurrences,
                **(event or {}),
            }
        },
        token=org.owner.token,
    )
    payload = data["createEvent"]
    assert payload["errors"] == [], payload["errors"]
    created = Sale(
        org,
        payload["event"]["id"],
        payload["event"]["slug"],
        [o["id"] for o in payload["event"]["occurrences"]],
    )
    await add_ticket_type(
        gql, created, quantity=quantity, price=price, currency=currency, **(ticket_type or {})
    )
    if publish:
        published = await gql(PUBLISH, {"id": created.event_id}, token=org.owner.token)
        assert published["publishEvent"]["errors"] == [], published["publishEvent"]["errors"]
    return created


async def add_ticket_type(
    gql: GraphQLClient,
    sale: Sale,
    *,
    quantity: int = 100,
    price: str = "25.00",
    currency: str = "USD",
    **extra: Any,
) -> str:
    data = await gql(
        CREATE_TICKET_TYPE,
        {
            "input": {
                "eventId": sale.event_id,
                "name": f"Ticket {len(sale.ticket_type_ids) + 1}",
                "price": {"amount": price, "currency": currency},
                "quantity": quantity,
                **extra,
            }
        },
        token=sale.org.owner.token,
    )
    payload = data["createTicketType"]
    assert payload["errors"] == [], payload["errors"]
    sale.ticket_type_ids.append(payload["ticketType"]["id"])
    return str(payload["ticketType"]["id"])


async def order(
    gql: GraphQLClient,
    sale: Sale,
    quantity: int = 1,
    *,
    token: str | None = None,
    buyer_email: str | None = None,
    ticket_type_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The createOrder payload (order and errors)."""
    item = {"ticketTypeId": ticket_type_id or sale.ticket_type_id, "quantity": quantity}
    item.update(extra.pop("item", {}))
    body: dict[str, Any] = {"eventId": sale.event_id, "items": [item], **extra}
    if buyer_email is None and token is None:
        buyer_email = factories.unique_email("guest")
    if buyer_email is not None:
        body["buyerEmail"] = buyer_email
    data = await gql(CREATE_ORDER, {"input": body}, token=token)
    return dict(data["createOrder"])


async def availability(
    gql: GraphQLClient, sale: Sale, token: str | None = None
) -> list[dict[str, Any]]:
    data = await gql(AVAILABILITY, {"eventId": sale.event_id}, token=token or sale.org.owner.token)
    return list(data["ticketAvailability"])


async def pay_with_test(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    order_id: str,
    *,
    token: str | None = None,
    succeed: bool = True,
) -> dict[str, Any]:
    """createPayment with the TEST provider, then complete it the way a buyer would."""
    data = await gql(
        CREATE_PAYMENT, {"input": {"orderId": order_id, "provider": "TEST"}}, token=token
    )
    payload = data["createPayment"]
    assert payload["errors"] == [], payload["errors"]
    payment = payload["payment"]
    outcome = "succeed" if succeed else "fail"
    response = await http.post(
        f"/payments/test/{payment['reference']}/{outcome}",
        json={"clientSecret": payment["clientSecret"]},
    )
    assert response.status_code == 200, response.text
    return dict(payment)


SEATS = """
query($o: ID!) { seatAvailability(occurrenceId: $o) { seat { id section row number } state } }
"""


async def seated_sale(
    gql: GraphQLClient,
    org: factories.TestOrg | None = None,
    *,
    seats: dict[str, tuple[int, int]],
    price: str = "25.00",
    **options: Any,
) -> Sale:
    """A published event at a venue whose seatmap has, per section, (rows, seats per row),
    with one ticket type selling every seat."""
    org = org or await factories.create_org(gql)
    venue = await gql(
        "mutation($i: CreateVenueInput!) { createVenue(input: $i) { venue { id } } }",
        {"i": {"organizationId": org.id, "name": "Hall", "timezone": "Africa/Lagos"}},
        token=org.owner.token,
    )
    venue_id = venue["createVenue"]["venue"]["id"]
    layout = [
        {"section": section, "row": str(row), "number": str(number)}
        for section, (rows, per_row) in seats.items()
        for row in range(1, rows + 1)
        for number in range(1, per_row + 1)
    ]
    seatmap = await gql(
        "mutation($i: CreateSeatmapInput!) { createSeatmap(input: $i) { seatmap { id } } }",
        {"i": {"venueId": venue_id, "name": "Main floor", "seats": layout}},
        token=org.owner.token,
    )
    return await sale(
        gql,
        org,
        quantity=len(layout),
        price=price,
        event={"venueId": venue_id, "seatmapId": seatmap["createSeatmap"]["seatmap"]["id"]},
        ticket_type={"sections": sorted(seats)},
        **options,
    )


async def seat_ids(gql: GraphQLClient, sale: Sale, token: str | None = None) -> dict[str, str]:
    """Seat ids by "section/row/number" for the sale's first date."""
    data = await gql(SEATS, {"o": sale.occurrence_ids[0]}, token=token or sale.org.owner.token)
    return {
        f"{s['seat']['section']}/{s['seat']['row']}/{s['seat']['number']}": s["seat"]["id"]
        for s in data["seatAvailability"]
    }
