"""Seat allocations per occurrence. Taking a seat is an INSERT that the partial unique
index `uq_seat_allocations_active` lets succeed for one allocation only; ON CONFLICT DO
NOTHING makes a lost race visible as a shorter RETURNING list, with no aborted transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.errors import ValidationError
from server.ids import new_id
from server.ticketing.errors import SeatUnavailable
from server.ticketing.inventory import release_expired
from server.ticketing.models import Inventory, SeatAllocation, SeatState

_INSERT = text(
    """
    INSERT INTO seat_allocations
        (id, occurrence_id, event_seat_id, ticket_type_id, state, hold_id, order_id, expires_at)
    SELECT s.id_new, :occurrence_id, s.seat_id, :ticket_type_id, CAST(:state AS seat_state),
           :hold_id, :order_id, :expires_at
    FROM unnest(CAST(:ids AS uuid[]), CAST(:seats AS uuid[])) AS s(id_new, seat_id)
    ORDER BY s.seat_id
    ON CONFLICT (occurrence_id, event_seat_id) WHERE released_at IS NULL DO NOTHING
    RETURNING event_seat_id
    """
)


_CHOOSABLE = text(
    """
    SELECT count(*) FROM event_seats AS s
    JOIN event_occurrences AS o ON o.event_id = s.event_id
    JOIN ticket_types AS t ON t.id = :ticket_type_id
    WHERE o.id = :occurrence_id AND s.id = ANY(CAST(:seats AS uuid[]))
      AND s.section = ANY(t.sections)
    """
)


async def check_seats(
    session: AsyncSession,
    *,
    occurrence_id: uuid.UUID,
    ticket_type_id: uuid.UUID,
    seat_ids: Sequence[uuid.UUID],
    field: list[str] | None,
) -> None:
    """The seats are in this event's copy of the seatmap, in the ticket type's sections,
    once each: anything else (a random id, the venue seatmap's own seat, another event's
    seat) is the buyer's mistake, refused before the insert would break a foreign key."""
    if len(set(seat_ids)) != len(seat_ids):
        raise ValidationError("A seat is listed twice.", field=field)
    found = await session.scalar(
        _CHOOSABLE,
        {"occurrence_id": occurrence_id, "ticket_type_id": ticket_type_id, "seats": list(seat_ids)},
    )
    if found != len(seat_ids):
        raise ValidationError(
            "Some seats are not in this event or not sold by this ticket type.", field=field
        )


async def allocate(
    session: AsyncSession,
    *,
    occurrence_id: uuid.UUID,
    ticket_type_id: uuid.UUID,
    seat_ids: Sequence[uuid.UUID],
    state: SeatState,
    now: datetime,
    expires_at: datetime | None,
    hold_id: uuid.UUID | None = None,
    order_id: uuid.UUID | None = None,
    field: list[str] | None = None,
) -> None:
    """Take every seat or raise SeatUnavailable (the caller's transaction rolls back);
    seats the ticket type does not sell are a ValidationError."""
    await check_seats(
        session,
        occurrence_id=occurrence_id,
        ticket_type_id=ticket_type_id,
        seat_ids=seat_ids,
        field=field,
    )
    wanted = sorted(seat_ids)
    params: dict[str, Any] = {
        "occurrence_id": occurrence_id,
        "ticket_type_id": ticket_type_id,
        "state": state.value,
        "hold_id": hold_id,
        "order_id": order_id,
        "expires_at": expires_at,
    }
    taken = set(await _insert(session, wanted, params))
    missing = [s for s in wanted if s not in taken]
    if missing and await _release_expired_holders(session, occurrence_id, missing, now):
        taken |= set(await _insert(session, missing, params))
        missing = [s for s in wanted if s not in taken]
    if missing:
        raise SeatUnavailable(field=field)


async def _insert(
    session: AsyncSession, seats: Sequence[uuid.UUID], params: dict[str, object]
) -> list[uuid.UUID]:
    ids = [new_id() for _ in seats]
    rows = await session.execute(_INSERT, {**params, "ids": ids, "seats": list(seats)})
    return list(rows.scalars())


async def _release_expired_holders(
    session: AsyncSession, occurrence_id: uuid.UUID, seat_ids: Sequence[uuid.UUID], now: datetime
) -> int:
    """Seats blocked by allocations that expired: release their owners (exactly once)."""
    rows = (
        await session.execute(
            select(Inventory.id)
            .join(
                SeatAllocation,
                (SeatAllocation.ticket_type_id == Inventory.ticket_type_id)
                & (SeatAllocation.occurrence_id == Inventory.occurrence_id),
            )
            .where(
                SeatAllocation.occurrence_id == occurrence_id,
                SeatAllocation.event_seat_id.in_(seat_ids),
                SeatAllocation.released_at.is_(None),
                SeatAllocation.expires_at <= now,
            )
            .distinct()
        )
    ).scalars()
    released = 0
    for inventory_id in sorted(rows):
        released += await release_expired(session, inventory_id=inventory_id, now=now)
    return released


async def reserve_held(
    session: AsyncSession,
    *,
    hold_id: uuid.UUID,
    seat_ids: Sequence[uuid.UUID],
    order_id: uuid.UUID,
    expires_at: datetime,
    field: list[str],
) -> None:
    """Seats a hold set aside become an order's reservation (the hold's token was redeemed)."""
    result = await session.execute(
        update(SeatAllocation)
        .where(
            SeatAllocation.hold_id == hold_id,
            SeatAllocation.event_seat_id.in_(seat_ids),
            SeatAllocation.state == SeatState.HELD,
            SeatAllocation.released_at.is_(None),
        )
        .values(state=SeatState.RESERVED, order_id=order_id, expires_at=expires_at)
        .returning(SeatAllocation.id)
    )
    if len(result.all()) != len(seat_ids):
        raise SeatUnavailable("Some of these seats are not part of the hold.", field=field)


async def return_to_hold(session: AsyncSession, *, order_id: uuid.UUID, hold_id: uuid.UUID) -> int:
    """A cancelled order gives its seats back to the (still active) hold they came from."""
    result = await session.execute(
        update(SeatAllocation)
        .where(
            SeatAllocation.order_id == order_id,
            SeatAllocation.hold_id == hold_id,
            SeatAllocation.released_at.is_(None),
        )
        .values(state=SeatState.HELD, order_id=None)
        .returning(SeatAllocation.id)
    )
    return len(result.all())


async def mark_sold(session: AsyncSession, *, order_id: uuid.UUID) -> int:
    result = await session.execute(
        update(SeatAllocation)
        .where(SeatAllocation.order_id == order_id, SeatAllocation.released_at.is_(None))
        .values(state=SeatState.SOLD, expires_at=None)
        .returning(SeatAllocation.id)
    )
    return len(result.all())


async def release(
    session: AsyncSession,
    *,
    now: datetime,
    order_id: uuid.UUID | None = None,
    hold_id: uuid.UUID | None = None,
    state: SeatState | None = None,
) -> int:
    query = (
        update(SeatAllocation).where(SeatAllocation.released_at.is_(None)).values(released_at=now)
    )
    if order_id is not None:
        query = query.where(SeatAllocation.order_id == order_id)
    if hold_id is not None:
        query = query.where(SeatAllocation.hold_id == hold_id)
    if state is not None:
        query = query.where(SeatAllocation.state == state)
    result = await session.execute(query.returning(SeatAllocation.id))
    return len(result.all())
