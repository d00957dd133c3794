"""What live subscribers may watch, and the reads the hub shares between them.

Authorization happens once, when a subscription starts (`authorize_availability_watch`,
`authorize_order_watch`); after that the hub reads the state once per change and channel
(`event_views`, `current_order`) and hands each subscriber the view it was granted."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.events.models import Event, EventOccurrence
from server.events.queries import get_event
from server.events.workflow import is_public
from server.live.channels import Scope
from server.orders.models import Order
from server.orders.reading import get_order
from server.ticketing.access import (
    can_read_private,
    event_for_read,
    occurrence_event_for_read,
)
from server.ticketing.availability import Availability, availability
from server.ticketing.errors import OccurrenceNotFound
from server.ticketing.models import TicketType, Visibility
from server.ticketing.queries import SeatStatus, occurrence_seat_states
from server.ticketing.service import visible_ticket_types


@dataclass(frozen=True, slots=True)
class AvailabilityGrant:
    event_id: uuid.UUID
    occurrence_id: uuid.UUID | None
    sees_private: bool


async def authorize_availability_watch(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> AvailabilityGrant:
    """A public event for anyone, a draft for its organization's members only; private
    ticket types only for members. Anyone else gets `EventNotFound`, as for no event."""
    event = await event_for_read(session, actor, event_id)
    if occurrence_id is not None:
        belongs = await session.scalar(
            select(EventOccurrence.id).where(
                EventOccurrence.id == occurrence_id, EventOccurrence.event_id == event.id
            )
        )
        if belongs is None:
            raise OccurrenceNotFound(field="occurrenceId")
    sees_private = await can_read_private(session, actor, event.organization_id)
    return AvailabilityGrant(event.id, occurrence_id, sees_private)


async def authorize_seat_watch(
    session: AsyncSession, *, actor: Actor, occurrence_id: uuid.UUID
) -> AvailabilityGrant:
    """The seat map of a date: whoever may read the event (the rule of the
    `seatAvailability` query); anyone else, and an unknown date, gets `OccurrenceNotFound`."""
    event = await occurrence_event_for_read(session, actor, occurrence_id)
    sees_private = await can_read_private(session, actor, event.organization_id)
    return AvailabilityGrant(event.id, occurrence_id, sees_private)


async def authorize_order_watch(
    session: AsyncSession, *, actor: Actor, order_id: uuid.UUID
) -> uuid.UUID:
    """The buyer, or the organization's staff and keys with orders:read (`get_order`)."""
    order = await get_order(session, actor=actor, order_id=order_id)
    return order.id


@dataclass(frozen=True, slots=True)
class EventViews:
    """One read of an event's availability, as members see it and as the public does."""

    exists: bool
    public: bool = False  # may anyone watch it (not a draft)?
    member_rows: list[Availability] = field(default_factory=list)
    public_rows: list[Availability] = field(default_factory=list)


async def event_views(
    session: AsyncSession, *, event_id: uuid.UUID, occurrences: Scope, now: datetime
) -> EventViews:
    """Availability of the event's dates in `occurrences` (None: all), one query for all
    viewers; the public view leaves out private ticket types."""
    event = await session.get(Event, event_id)
    if event is None:
        return EventViews(exists=False)
    rows = await availability(
        session,
        now=now,
        event_ids=[event_id],
        occurrence_ids=sorted(occurrences) if occurrences is not None else (),
    )
    private = set(
        (
            await session.scalars(
                select(TicketType.id).where(
                    TicketType.event_id == event_id, TicketType.visibility == Visibility.PRIVATE
                )
            )
        ).all()
    )
    return EventViews(
        exists=True,
        public=is_public(event.status, event.published_at),
        member_rows=rows,
        public_rows=[r for r in rows if r.ticket_type_id not in private],
    )


@dataclass(frozen=True, slots=True)
class SeatViews:
    """One read of a date's seat map (every section), for all its watchers."""

    exists: bool
    public: bool = False
    seats: list[SeatStatus] = field(default_factory=list)


async def seat_views(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_id: uuid.UUID, now: datetime
) -> SeatViews:
    event = await session.get(Event, event_id)
    if event is None:
        return SeatViews(exists=False)
    seats = await occurrence_seat_states(
        session, event_id=event_id, occurrence_id=occurrence_id, section=None, now=now
    )
    return SeatViews(exists=True, public=is_public(event.status, event.published_at), seats=seats)


async def current_order(session: AsyncSession, *, order_id: uuid.UUID) -> Order | None:
    return await session.get(Order, order_id)


@dataclass(frozen=True, slots=True)
class PageTicketType:
    id: uuid.UUID
    name: str


@dataclass(frozen=True, slots=True)
class PageDate:
    id: uuid.UUID
    starts_at: datetime


@dataclass(frozen=True, slots=True)
class LivePage:
    event_id: uuid.UUID
    title: str
    timezone: str
    ticket_types: list[PageTicketType]
    dates: list[PageDate]


async def live_page(session: AsyncSession, *, slug: str) -> LivePage:
    """What the public live availability page of an event names: public events only
    (anything else is `EventNotFound`), public ticket types only."""
    bundle = await get_event(session, actor=Actor(), cache=None, slug=slug)
    types = (await visible_ticket_types(session, event_ids=[bundle.event.id])).get(
        bundle.event.id, []
    )
    return LivePage(
        event_id=bundle.event.id,
        title=bundle.event.title,
        timezone=bundle.event.timezone,
        ticket_types=[
            PageTicketType(t.id, t.name) for t in types if t.visibility is Visibility.PUBLIC
        ],
        dates=[PageDate(o.id, o.starts_at) for o in bundle.occurrences],
    )
