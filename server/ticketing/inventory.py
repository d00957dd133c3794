"""Inventory counters: the only code that moves `inventory` and occurrence `allocated`.

Every change is one conditional statement that either applies fully or returns no row;
nothing is read in Python and written back. See docs/inventory.md for the design."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import EventOccurrence
from server.ids import new_id
from server.ticketing.errors import NotEnoughLeft, SoldOut
from server.ticketing.models import Inventory, TicketType


async def create_inventory_for_occurrences(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_ids: Sequence[uuid.UUID]
) -> None:
    """Give every existing ticket type of the event a row for each new occurrence. The
    caller holds the event row lock (see docs/inventory.md)."""
    if not occurrence_ids:
        return
    types = (
        await session.execute(
            select(TicketType.id, TicketType.quantity).where(TicketType.event_id == event_id)
        )
    ).all()
    rows = [
        {
            "id": new_id(),
            "ticket_type_id": type_id,
            "occurrence_id": occurrence_id,
            "event_id": event_id,
            "quantity": quantity,
        }
        for type_id, quantity in types
        for occurrence_id in occurrence_ids
    ]
    if rows:
        await session.execute(insert(Inventory), rows)


async def create_inventory_for_ticket_type(
    session: AsyncSession, *, event_id: uuid.UUID, ticket_type_id: uuid.UUID, quantity: int
) -> None:
    """Rows for a new ticket type, one per occurrence of its event (event row locked)."""
    occurrence_ids = (
        await session.scalars(
            select(EventOccurrence.id).where(EventOccurrence.event_id == event_id)
        )
    ).all()
    rows = [
        {
            "id": new_id(),
            "ticket_type_id": ticket_type_id,
            "occurrence_id": occurrence_id,
            "event_id": event_id,
            "quantity": quantity,
        }
        for occurrence_id in occurrence_ids
    ]
    if rows:
        await session.execute(insert(Inventory), rows)


# --- moving counters -------------------------------------------------------------------

Counter = Literal["reserved", "held"]
_TAKE = {
    counter: text(
        f"""
        UPDATE inventory AS i SET {counter} = i.{counter} + :n
        FROM event_occurrences AS o
        WHERE i.id = :id AND o.id = i.occurrence_id
          AND i.quantity - i.sold - i.reserved - i.held >= :n
        RETURNING i.occurrence_id, o.capacity IS NOT NULL AS capped
        """  # noqa: S608 - counter is one of two literals
    )
    for counter in ("reserved", "held")
}
_TAKE_CAPACITY = text(
    """
    UPDATE event_occurrences SET allocated = allocated + :n
    WHERE id = :id AND capacity IS NOT NULL AND capacity - allocated >= :n
    RETURNING id
    """
)
_GIVE_CAPACITY = text(
    "UPDATE event_occurrences SET allocated = allocated - :n "
    "WHERE id = :id AND capacity IS NOT NULL"
)


@dataclass(frozen=True, slots=True)
class Claim:
    """Units wanted from one inventory row; with `hold_token`, taken from that hold
    (held -> reserved) instead of from general sale."""

    inventory_id: uuid.UUID
    quantity: int
    hold_token: str | None = None


ExpiredReleaser = Callable[[AsyncSession, uuid.UUID, datetime], Awaitable[int]]
_releasers: list[ExpiredReleaser] = []


def register_expired_releaser(fn: ExpiredReleaser) -> ExpiredReleaser:
    """Domains whose claims expire (holds here, pending orders in commerce) register a
    function that releases, exactly once, what has expired on one inventory row."""
    _releasers.append(fn)
    return fn


async def release_expired(session: AsyncSession, *, inventory_id: uuid.UUID, now: datetime) -> int:
    released = 0
    for releaser in _releasers:
        released += await releaser(session, inventory_id, now)
    return released


async def release_expired_on_occurrence(
    session: AsyncSession, *, occurrence_id: uuid.UUID, now: datetime
) -> int:
    ids = (
        await session.scalars(select(Inventory.id).where(Inventory.occurrence_id == occurrence_id))
    ).all()
    released = 0
    for inventory_id in sorted(ids):
        released += await release_expired(session, inventory_id=inventory_id, now=now)
    return released


async def _take(
    session: AsyncSession, claim: Claim, counter: Counter
) -> tuple[uuid.UUID, bool] | None:
    row = (
        await session.execute(_TAKE[counter], {"id": claim.inventory_id, "n": claim.quantity})
    ).first()
    return (row.occurrence_id, bool(row.capped)) if row is not None else None


async def _take_capacity(session: AsyncSession, occurrence_id: uuid.UUID, quantity: int) -> bool:
    row = (await session.execute(_TAKE_CAPACITY, {"id": occurrence_id, "n": quantity})).first()
    return row is not None


async def take(
    session: AsyncSession,
    claims: Sequence[Claim],
    *,
    counter: Counter,
    now: datetime,
    fields: dict[uuid.UUID, list[str]] | None = None,
) -> None:
    """Reserve (or hold) every claim, or raise and leave the transaction to roll back.

    Inventory rows are taken in id order, then occurrence capacity in id order (the lock
    order of docs/inventory.md). A row that comes up short first releases what has expired
    on it, exactly once, and is tried again."""
    from server.ticketing.holds import redeem

    capped: dict[uuid.UUID, int] = {}
    for claim in sorted(claims, key=lambda c: c.inventory_id):
        if claim.hold_token is not None:
            # Held units are already counted against capacity; they change counter only.
            await redeem(
                session,
                token=claim.hold_token,
                inventory_id=claim.inventory_id,
                quantity=claim.quantity,
                now=now,
                field=["holdToken"],
            )
            continue
        taken = await _take(session, claim, counter)
        if taken is None and await release_expired(
            session, inventory_id=claim.inventory_id, now=now
        ):
            taken = await _take(session, claim, counter)
        if taken is None:
            field = (fields or {}).get(claim.inventory_id)
            left = await available_units(session, inventory_id=claim.inventory_id, now=now)
            raise SoldOut(field=field) if left <= 0 else NotEnoughLeft(left, field=field)
        occurrence_id, has_capacity = taken
        if has_capacity:
            capped[occurrence_id] = capped.get(occurrence_id, 0) + claim.quantity
    for occurrence_id in sorted(capped):
        quantity = capped[occurrence_id]
        ok = await _take_capacity(session, occurrence_id, quantity)
        if not ok and await release_expired_on_occurrence(
            session, occurrence_id=occurrence_id, now=now
        ):
            ok = await _take_capacity(session, occurrence_id, quantity)
        if not ok:
            raise SoldOut("The venue is full for this date.")


async def give_back(
    session: AsyncSession,
    *,
    inventory_id: uuid.UUID,
    quantity: int,
    counter: Literal["reserved", "held", "sold"],
) -> None:
    """Return units to sale (a cancelled order, a released hold, a refund). The caller has
    already made the state change that proves this happens once."""
    row = (
        await session.execute(
            text(
                f"UPDATE inventory SET {counter} = {counter} - :n WHERE id = :id "  # noqa: S608
                "RETURNING occurrence_id"
            ),
            {"id": inventory_id, "n": quantity},
        )
    ).first()
    if row is not None:
        await session.execute(_GIVE_CAPACITY, {"id": row.occurrence_id, "n": quantity})


async def move(
    session: AsyncSession,
    *,
    inventory_id: uuid.UUID,
    quantity: int,
    source: Literal["reserved", "held"],
    target: Literal["reserved", "held", "sold"],
) -> None:
    """Move units between counters of one row (held -> reserved when an order redeems a
    hold, reserved -> sold on payment); capacity is unchanged."""
    await session.execute(
        text(
            f"UPDATE inventory SET {source} = {source} - :n, {target} = {target} + :n "  # noqa: S608
            "WHERE id = :id"
        ),
        {"id": inventory_id, "n": quantity},
    )


ExpiredCounter = Callable[
    [AsyncSession, Sequence[uuid.UUID], datetime], Awaitable[dict[uuid.UUID, int]]
]
_expired_counters: list[tuple[Counter, ExpiredCounter]] = []


def register_expired_counter(counter: Counter, fn: ExpiredCounter) -> ExpiredCounter:
    """Domains register how many units they hold on given rows that expired but are not
    released yet, so availability is right before the expiry job runs."""
    _expired_counters.append((counter, fn))
    return fn


async def expired_units(
    session: AsyncSession, inventory_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, dict[Counter, int]]:
    result: dict[uuid.UUID, dict[Counter, int]] = {}
    for counter, fn in _expired_counters:
        for inventory_id, units in (await fn(session, inventory_ids, now)).items():
            result.setdefault(inventory_id, {}).setdefault(counter, 0)
            result[inventory_id][counter] += units
    return result


async def available_units(session: AsyncSession, *, inventory_id: uuid.UUID, now: datetime) -> int:
    from server.ticketing.availability import availability

    ticket_type_id = await session.scalar(
        select(Inventory.ticket_type_id).where(Inventory.id == inventory_id)
    )
    if ticket_type_id is None:
        return 0
    rows = await availability(session, now=now, ticket_type_ids=[ticket_type_id])
    return next((r.available for r in rows if r.inventory_id == inventory_id), 0)


_TAKE_UP_TO = text(
    """
    UPDATE inventory AS i SET reserved = i.reserved + x.take
    FROM (
        SELECT id, LEAST(:n, quantity - sold - reserved - held) AS take
        FROM inventory WHERE id = :id FOR UPDATE
    ) AS x
    WHERE i.id = x.id AND x.take > 0
    RETURNING x.take
    """
)


async def take_up_to(
    session: AsyncSession, *, inventory_id: uuid.UUID, quantity: int, now: datetime
) -> int:
    """Reserve as many of `quantity` units as are left (for a batch of orders that share
    one transaction); returns how many. Rows whose occurrence has a capacity are not for
    this (the batch caller sends those through `take`). A short row first releases what
    has expired on it, exactly once, as `take` does."""
    taken = int(await session.scalar(_TAKE_UP_TO, {"id": inventory_id, "n": quantity}) or 0)
    if taken < quantity and await release_expired(session, inventory_id=inventory_id, now=now):
        taken += int(
            await session.scalar(_TAKE_UP_TO, {"id": inventory_id, "n": quantity - taken}) or 0
        )
    return taken
