"""Catalog building blocks for tests: venues, seatmaps, events and ticket types created
through the public API, the way a client would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.support.factories import TestOrg
from tests.support.gql import GraphQLClient

CREATE_VENUE = """
mutation CreateVenue($input: CreateVenueInput!) {
  createVenue(input: $input) { venue { id name address timezone } errors { field message code } }
}
"""
CREATE_SEATMAP = """
mutation CreateSeatmap($input: CreateSeatmapInput!) {
  createSeatmap(input: $input) {
    seatmap { id name seatCount } errors { field message code }
  }
}
"""
EVENT_FIELDS = """
  id slug title description status timezone startsAt lastStartsAt cancelReason
  venue { id name timezone }
  occurrences { id startsAt endsAt capacity }
  policies { refundPolicy transferAllowed cancellationPolicy refundDeadlineHours }
  assets { id kind url contentType }
  seatmap { id name seatCount }
  organization { id }
"""
CREATE_EVENT = f"""
mutation CreateEvent($input: CreateEventInput!) {{
  createEvent(input: $input) {{ event {{ {EVENT_FIELDS} }} errors {{ field message code }} }}
}}
"""
UPDATE_EVENT = f"""
mutation UpdateEvent($input: UpdateEventInput!) {{
  updateEvent(input: $input) {{ event {{ {EVENT_FIELDS} }} errors {{ field message code }} }}
}}
"""
PUBLISH_EVENT = """
mutation Publish($id: ID!) {
  publishEvent(id: $id) { event { id status } errors { field message code } }
}
"""
CANCEL_EVENT = """
mutation Cancel($id: ID!, $reason: String) {
  cancelEvent(id: $id, reason: $reason) {
    event { id status cancelReason } errors { field message code }
  }
}
"""
COMPLETE_EVENT = """
mutation Complete($id: ID!) {
  completeEvent(id: $id) { event { id status } errors { field message code } }
}
"""
EVENT_BY_ID = f"query Event($id: ID) {{ event(id: $id) {{ {EVENT_FIELDS} }} }}"
EVENT_BY_SLUG = f"query EventBySlug($slug: String) {{ event(slug: $slug) {{ {EVENT_FIELDS} }} }}"
CREATE_TICKET_TYPE = """
mutation CreateTicketType($input: CreateTicketTypeInput!) {
  createTicketType(input: $input) { ticketType { id } errors { field message code } }
}
"""

BASE = datetime(2031, 6, 6, 19, 0, tzinfo=UTC)


def at(days: float = 0, hours: float = 0) -> str:
    return (BASE + timedelta(days=days, hours=hours)).isoformat()


def past_occurrence(days_ago: float, hours: float = 3) -> dict[str, Any]:
    """A date that began `days_ago` days before now (BASE is years ahead)."""
    start = datetime.now(UTC) - timedelta(days=days_ago)
    return {"startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=hours)).isoformat()}


def occurrence(days: float = 0, hours: float = 3, capacity: int | None = None) -> dict[str, Any]:
    return {"startsAt": at(days), "endsAt": at(days, hours), "capacity": capacity}


async def create_venue(
    gql: GraphQLClient, org: TestOrg, timezone: str = "Africa/Lagos", name: str = "Main Hall"
) -> dict[str, Any]:
    data = await gql(
        CREATE_VENUE,
        {"input": {"organizationId": org.id, "name": name, "timezone": timezone}},
        token=org.owner.token,
    )
    payload = data["createVenue"]
    assert payload["errors"] == [], payload["errors"]
    return dict(payload["venue"])


def seat_grid(sections: int, rows: int, per_row: int) -> list[dict[str, str]]:
    return [
        {"section": f"S{s}", "row": f"R{r}", "number": str(n)}
        for s in range(1, sections + 1)
        for r in range(1, rows + 1)
        for n in range(1, per_row + 1)
    ]


async def create_seatmap(
    gql: GraphQLClient,
    org: TestOrg,
    venue_id: str,
    seats: list[dict[str, str]] | None = None,
    name: str = "Standard",
) -> dict[str, Any]:
    data = await gql(
        CREATE_SEATMAP,
        {
            "input": {
                "venueId": venue_id,
                "name": name,
                "seats": seats if seats is not None else seat_grid(2, 2, 3),
            }
        },
        token=org.owner.token,
    )
    payload = data["createSeatmap"]
    assert payload["errors"] == [], payload["errors"]
    return dict(payload["seatmap"])


async def create_event(
    gql: GraphQLClient, org: TestOrg, *, token: str | None = None, **fields: Any
) -> dict[str, Any]:
    values: dict[str, Any] = {
        "organizationId": org.id,
        "title": "Jazz Night",
        "occurrences": [occurrence()],
    }
    values.update(fields)
    data = await gql(CREATE_EVENT, {"input": values}, token=token or org.owner.token)
    payload = data["createEvent"]
    assert payload["errors"] == [], payload["errors"]
    return dict(payload["event"])


async def add_ticket_type(
    gql: GraphQLClient, org: TestOrg, event_id: str, *, quantity: int = 100, **fields: Any
) -> str:
    values: dict[str, Any] = {
        "eventId": event_id,
        "name": "General",
        "price": {"amount": "5000.00", "currency": "NGN"},
        "quantity": quantity,
    }
    values.update(fields)
    data = await gql(CREATE_TICKET_TYPE, {"input": values}, token=org.owner.token)
    payload = data["createTicketType"]
    assert payload["errors"] == [], payload["errors"]
    return str(payload["ticketType"]["id"])


async def published_event(gql: GraphQLClient, org: TestOrg, **fields: Any) -> dict[str, Any]:
    event = await create_event(gql, org, **fields)
    await add_ticket_type(gql, org, event["id"])
    data = await gql(PUBLISH_EVENT, {"id": event["id"]}, token=org.owner.token)
    assert data["publishEvent"]["errors"] == [], data["publishEvent"]["errors"]
    return event
