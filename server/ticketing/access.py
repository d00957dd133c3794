"""Loading catalog rows together with the caller's right to touch them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import NotFound
from server.events.models import Event, EventStatus
from server.organizations.access import Grant, Permission, authorize, readable_organization_ids
from server.ticketing.errors import TicketTypeNotFound
from server.ticketing.models import TicketType


class EventNotFound(NotFound):
    message = "No such event."


async def event_for_write(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID, *, field: str = "eventId"
) -> tuple[Event, Grant]:
    """The event, locked (ticket types and occurrences change under this lock), after
    checking the caller may change it."""
    org_id = await session.scalar(select(Event.organization_id).where(Event.id == event_id))
    if org_id is None:
        raise EventNotFound(field=field)
    grant = await authorize(
        session, actor, org_id, Permission.EVENTS_WRITE, not_found=EventNotFound(field=field)
    )
    event = await session.scalar(select(Event).where(Event.id == event_id).with_for_update())
    if event is None:
        raise EventNotFound(field=field)
    return event, grant


async def ticket_type_for_write(
    session: AsyncSession, actor: Actor, ticket_type_id: uuid.UUID, *, field: str = "ticketTypeId"
) -> tuple[TicketType, Event]:
    event_id = await session.scalar(
        select(TicketType.event_id).where(TicketType.id == ticket_type_id)
    )
    if event_id is None:
        raise TicketTypeNotFound(field=field)
    try:
        event, _ = await event_for_write(session, actor, event_id, field=field)
    except EventNotFound:
        raise TicketTypeNotFound(field=field) from None
    ticket_type = await session.get(TicketType, ticket_type_id, with_for_update=True)
    if ticket_type is None:
        raise TicketTypeNotFound(field=field)
    return ticket_type, event


PUBLIC_STATUSES = frozenset({EventStatus.PUBLISHED, EventStatus.COMPLETED, EventStatus.CANCELLED})


async def can_read_private(session: AsyncSession, actor: Actor, organization_id: uuid.UUID) -> bool:
    """Members (staff and up) and API keys with events:read see drafts and private types."""
    return organization_id in await readable_organization_ids(
        session, actor, Permission.EVENTS_READ
    )


async def event_for_read(session: AsyncSession, actor: Actor, event_id: uuid.UUID) -> Event:
    """A public event for anyone; a draft only for its organization's members."""
    event = await session.get(Event, event_id)
    if event is None:
        raise EventNotFound(field="eventId")
    if event.status not in PUBLIC_STATUSES and not await can_read_private(
        session, actor, event.organization_id
    ):
        raise EventNotFound(field="eventId")
    return event
