"""What the public seat picker page names: a public event with a seat map, its dates, and
its public seated ticket types. Seat states come live over the `seatAvailability`
subscription; prices, limits and the sale itself stay the API's to decide."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.events.errors import EventNotFound
from server.events.queries import get_event
from server.money import format_amount
from server.ticketing.models import Visibility
from server.ticketing.service import visible_ticket_types


@dataclass(frozen=True, slots=True)
class SeatedType:
    id: uuid.UUID
    name: str
    price: str  # decimal string, as the API's Money.amount
    currency: str
    sections: list[str]
    min_per_order: int
    max_per_order: int


@dataclass(frozen=True, slots=True)
class SeatPicker:
    event_id: uuid.UUID
    title: str
    timezone: str
    dates: list[tuple[uuid.UUID, datetime]]
    ticket_types: list[SeatedType]


async def seat_picker(session: AsyncSession, *, slug: str, now: datetime) -> SeatPicker:
    """Public events only, as anyone sees them, and only their dates still to come; an
    event without a public seated ticket type (one that sells sections of its seat map),
    or with no date left, has no seat picker: `EventNotFound`."""
    bundle = await get_event(session, actor=Actor(), cache=None, slug=slug)
    event = bundle.event
    types = (await visible_ticket_types(session, event_ids=[event.id])).get(event.id, [])
    seated = [
        SeatedType(
            t.id,
            t.name,
            str(format_amount(t.price_minor, t.currency)),
            t.currency,
            list(t.sections),
            t.min_per_order,
            t.max_per_order,
        )
        for t in types
        if t.visibility is Visibility.PUBLIC and t.sections
    ]
    dates = [(o.id, o.starts_at) for o in bundle.occurrences if o.ends_at > now]
    if not seated or not dates:
        raise EventNotFound()
    return SeatPicker(event.id, event.title, event.timezone, dates, seated)
