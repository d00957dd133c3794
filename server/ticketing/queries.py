"""Read helpers other domains need from ticketing."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.events.models import EventOccurrence
from server.ticketing.access import can_read_private, event_for_read, occurrence_event_for_read
from server.ticketing.availability import Availability, availability
from server.ticketing.errors import OccurrenceNotFound
from server.ticketing.holds import hold_for_token
from server.ticketing.models import TicketType, Visibility


async def ticket_type_count(session: AsyncSession, *, event_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(TicketType).where(TicketType.event_id == event_id)
    )
    return int(count or 0)


async def event_availability(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    hold_token: str | None,
    now: datetime,
) -> list[Availability]:
    """Availability of an event's ticket types as this caller may see them: private types
    only for members or the holder of a hold token on that type."""
    event = await event_for_read(session, actor, event_id)
    if occurrence_id is not None:
        belongs = await session.scalar(
            select(EventOccurrence.id).where(
                EventOccurrence.id == occurrence_id, EventOccurrence.event_id == event.id
            )
        )
        if belongs is None:
            raise OccurrenceNotFound(field="occurrenceId")
    rows = await availability(
        session,
        now=now,
        event_ids=[event.id],
        occurrence_ids=[occurrence_id] if occurrence_id else (),
    )
    if await can_read_private(session, actor, event.organization_id):
        return rows
    private = set(
        (
            await session.scalars(
                select(TicketType.id).where(
                    TicketType.event_id == event.id, TicketType.visibility == Visibility.PRIVATE
                )
            )
        ).all()
    )
    if hold_token:
        hold = await hold_for_token(session, hold_token, now)
        if hold is not None:
            private.discard(hold.ticket_type_id)
    return [r for r in rows if r.ticket_type_id not in private]


@dataclass(frozen=True, slots=True)
class SeatStatus:
    seat_id: uuid.UUID
    section: str
    row: str
    number: str
    state: str  # available, held, reserved, sold


_SEAT_STATES = text(
    """
    SELECT s.id, s.section, s."row", s.number,
           CASE WHEN a.id IS NULL THEN 'available'
                WHEN a.state <> 'sold' AND a.expires_at IS NOT NULL AND a.expires_at <= :now
                     THEN 'available'
                ELSE a.state::text END AS state
    FROM event_seats AS s
    LEFT JOIN seat_allocations AS a
      ON a.event_seat_id = s.id AND a.occurrence_id = :occurrence_id AND a.released_at IS NULL
    WHERE s.event_id = :event_id AND (CAST(:section AS text) IS NULL OR s.section = :section)
    ORDER BY s.section, length(s."row"), s."row", length(s.number), s.number
    """
)


async def seat_states(
    session: AsyncSession,
    *,
    actor: Actor,
    occurrence_id: uuid.UUID,
    section: str | None,
    now: datetime,
) -> list[SeatStatus]:
    """Every seat of the event's snapshot with its state for one date, in one query."""
    event = await occurrence_event_for_read(session, actor, occurrence_id)
    return await occurrence_seat_states(
        session, event_id=event.id, occurrence_id=occurrence_id, section=section, now=now
    )


async def occurrence_seat_states(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID,
    section: str | None,
    now: datetime,
) -> list[SeatStatus]:
    """The seat states of one date, for a caller already allowed to see them (the query
    above, the live seat map)."""
    rows = await session.execute(
        _SEAT_STATES,
        {"occurrence_id": occurrence_id, "event_id": event_id, "section": section, "now": now},
    )
    return [SeatStatus(r.id, r.section, r.row, r.number, r.state) for r in rows]
