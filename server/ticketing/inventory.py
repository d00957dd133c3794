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
from server.ticketing.changes import units_freed
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
    """Units wanted from one inventory row."""

    inventory_id: uuid.UUID
    quantity: int


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
    on it, exactly once, and is tried again. (Orders take theirs through `StockLedger`.)"""
    capped: dict[uuid.UUID, int] = {}
    for claim in sorted(claims, key=lambda c: c.inventory_id):
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
                "RETURNING occurrence_id, event_id, ticket_type_id"
            ),
            {"id": inventory_id, "n": quantity},
        )
    ).first()
    if row is not None:
        await session.execute(_GIVE_CAPACITY, {"id": row.occurrence_id, "n": quantity})
        units_freed(session, row.event_id, row.occurrence_id, row.ticket_type_id)


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


# --- several orders in one transaction -------------------------------------------------

_LOCK_ROWS = text(
    """
    SELECT id, occurrence_id, quantity - sold - reserved - held AS free
    FROM inventory WHERE id = ANY(CAST(:ids AS uuid[])) ORDER BY id FOR UPDATE
    """
)
_LOCK_CAPACITY = text(
    """
    SELECT id, capacity - allocated AS free FROM event_occurrences
    WHERE id = ANY(CAST(:ids AS uuid[])) AND capacity IS NOT NULL ORDER BY id FOR UPDATE
    """
)
_APPLY_ROWS = text(
    """
    UPDATE inventory AS i SET reserved = i.reserved + x.reserve + x.redeem,
                              held = i.held - x.redeem
    FROM unnest(CAST(:ids AS uuid[]), CAST(:reserve AS int[]), CAST(:redeem AS int[]))
         AS x(id, reserve, redeem)
    WHERE i.id = x.id
    """
)
_APPLY_CAPACITY = text(
    """
    UPDATE event_occurrences AS o SET allocated = o.allocated + x.n
    FROM unnest(CAST(:ids AS uuid[]), CAST(:n AS int[])) AS x(id, n) WHERE o.id = x.id
    """
)


@dataclass(slots=True)
class _Row:
    occurrence_id: uuid.UUID
    free: int
    reserve: int = 0  # taken from general sale by this transaction
    redeem: int = 0  # moved from held to reserved by this transaction


@dataclass(frozen=True, slots=True)
class Taken:
    """What one order took from a `StockLedger`, so that it can be put back."""

    general: tuple[tuple[uuid.UUID, int], ...]
    redeemed: tuple[tuple[uuid.UUID, int], ...]
    capacity: tuple[tuple[uuid.UUID, int], ...]


class StockLedger:
    """Inventory rows (and occurrence capacity) locked for a batch of orders: each order
    takes from what is left after the orders before it, in memory, all or nothing, and
    `apply` writes the sum in one statement per table. The rows stay locked until the
    transaction ends, so nothing else moves them meanwhile; the check constraints remain
    the backstop. Lock order as in docs/inventory.md: inventory rows by id, then capacity."""

    def __init__(self, rows: dict[uuid.UUID, _Row], capacity: dict[uuid.UUID, int]) -> None:
        self._rows = rows
        self._capacity_free = capacity
        self._capacity_taken: dict[uuid.UUID, int] = {}

    @classmethod
    async def lock(
        cls,
        session: AsyncSession,
        *,
        demand: dict[uuid.UUID, int],
        capped_occurrences: Sequence[uuid.UUID],
        now: datetime,
    ) -> StockLedger:
        """Lock the rows of `demand` (units wanted from general sale per row). A row, or an
        occurrence, with less left than is wanted first releases what has expired on it
        (exactly once, see `release_expired`)."""
        rows = await _locked_rows(session, list(demand))
        short = sorted(i for i, row in rows.items() if row.free < demand[i])
        released = 0
        for inventory_id in short:
            released += await release_expired(session, inventory_id=inventory_id, now=now)
        if released:
            rows.update(await _locked_rows(session, short))
        capacity = await _locked_capacity(session, capped_occurrences)
        wanted: dict[uuid.UUID, int] = {}
        for inventory_id, units in demand.items():
            occurrence_id = rows[inventory_id].occurrence_id if inventory_id in rows else None
            if occurrence_id in capacity:
                wanted[occurrence_id] = wanted.get(occurrence_id, 0) + units
        full = sorted(o for o, free in capacity.items() if free < wanted.get(o, 0))
        if full:
            for occurrence_id in full:
                await release_expired_on_occurrence(session, occurrence_id=occurrence_id, now=now)
            capacity.update(await _locked_capacity(session, full))
            rows.update(await _locked_rows(session, list(rows)))
        return cls(rows, capacity)

    def left(self, inventory_id: uuid.UUID) -> int:
        row = self._rows.get(inventory_id)
        return max(0, row.free) if row is not None else 0

    def take(
        self,
        claims: Sequence[Claim],
        *,
        redeemed: Sequence[tuple[uuid.UUID, int]] = (),
        fields: dict[uuid.UUID, list[str]],
    ) -> Taken:
        """Take every claim from general sale, or raise SoldOut or NotEnoughLeft (claims
        decided in inventory id order, then capacity) with nothing taken. `redeemed` are
        units of a hold the order redeems (checked by the hold's ledger): they move from
        held to reserved and count against nothing."""
        general: list[tuple[uuid.UUID, int]] = []
        capped: dict[uuid.UUID, int] = {}
        for claim in sorted(claims, key=lambda c: c.inventory_id):
            row = self._rows[claim.inventory_id]
            if row.free < claim.quantity:  # one claim per row: an order lists a type once
                left = self.left(claim.inventory_id)
                field = fields.get(claim.inventory_id)
                raise SoldOut(field=field) if left <= 0 else NotEnoughLeft(left, field=field)
            general.append((claim.inventory_id, claim.quantity))
            if row.occurrence_id in self._capacity_free:
                capped[row.occurrence_id] = capped.get(row.occurrence_id, 0) + claim.quantity
        for occurrence_id, units in sorted(capped.items()):
            if self._capacity_free[occurrence_id] < units:
                raise SoldOut("The venue is full for this date.")
        taken = Taken(tuple(general), tuple(redeemed), tuple(sorted(capped.items())))
        self._move(taken, 1)
        return taken

    def put_back(self, taken: Taken) -> None:
        """Undo a `take` of an order that failed a later step."""
        self._move(taken, -1)

    def _move(self, taken: Taken, sign: int) -> None:
        for inventory_id, units in taken.general:
            row = self._rows[inventory_id]
            row.free -= sign * units
            row.reserve += sign * units
        for inventory_id, units in taken.redeemed:
            self._rows[inventory_id].redeem += sign * units
        for occurrence_id, units in taken.capacity:
            self._capacity_free[occurrence_id] -= sign * units
            self._capacity_taken[occurrence_id] = (
                self._capacity_taken.get(occurrence_id, 0) + sign * units
            )

    async def apply(self, session: AsyncSession) -> None:
        moved = sorted((i, r) for i, r in self._rows.items() if r.reserve or r.redeem)
        if moved:
            await session.execute(
                _APPLY_ROWS,
                {
                    "ids": [i for i, _ in moved],
                    "reserve": [r.reserve for _, r in moved],
                    "redeem": [r.redeem for _, r in moved],
                },
            )
        capacity = sorted((o, n) for o, n in self._capacity_taken.items() if n)
        if capacity:
            await session.execute(
                _APPLY_CAPACITY, {"ids": [o for o, _ in capacity], "n": [n for _, n in capacity]}
            )


async def _locked_rows(session: AsyncSession, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, _Row]:
    rows = await session.execute(_LOCK_ROWS, {"ids": list(ids)})
    return {r.id: _Row(r.occurrence_id, int(r.free)) for r in rows}


async def _locked_capacity(
    session: AsyncSession, occurrence_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    if not occurrence_ids:
        return {}
    rows = await session.execute(_LOCK_CAPACITY, {"ids": list(occurrence_ids)})
    return {r.id: int(r.free) for r in rows}
