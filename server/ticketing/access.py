"""Loading catalog rows together with the caller's right to touch them."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.events import access as events_access
from server.events.errors import EventNotFound
from server.events.models import Event, EventOccurrence
from server.organizations.access import Grant, Permission, readable_organization_ids
from server.ticketing.errors import OccurrenceNotFound, TicketTypeNotFound
from server.ticketing.models import TicketType


async def event_for_write(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID, *, field: str = "eventId"
) -> tuple[Event, Grant]:
    """The event, locked: ticket types change under the same lock as occurrences."""
    return await events_access.event_for_write(session, actor, event_id, field=field)


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


async def can_read_private(session: AsyncSession, actor: Actor, organization_id: uuid.UUID) -> bool:
    """Members (staff and up) and API keys with events:read see drafts and private types."""
    return organization_id in await readable_organization_ids(
        session, actor, Permission.EVENTS_READ
    )


async def event_for_read(session: AsyncSession, actor: Actor, event_id: uuid.UUID) -> Event:
    """A public event for anyone; a draft (or a never-published cancelled event) only for
    its organization's members: the events domain's rule (`check_readable`)."""
    event = await session.get(Event, event_id)
    if event is None:
        raise EventNotFound(field="eventId")
    try:
        await events_access.check_readable(
            session,
            actor,
            organization_id=event.organization_id,
            status=event.status,
            published_at=event.published_at,
        )
    except EventNotFound:
        raise EventNotFound(field="eventId") from None
    return event


async def occurrence_event_for_read(
    session: AsyncSession, actor: Actor, occurrence_id: uuid.UUID
) -> Event:
    """The event of a date, by `event_for_read`'s rule; an unknown date and an event the
    caller may not see both answer `OccurrenceNotFound`."""
    event_id = await session.scalar(
        select(EventOccurrence.event_id).where(EventOccurrence.id == occurrence_id)
    )
    if event_id is None:
        raise OccurrenceNotFound(field="occurrenceId")
    try:
        return await event_for_read(session, actor, event_id)
    except EventNotFound:
        raise OccurrenceNotFound(field="occurrenceId") from None
