"""Holds: inventory set aside for a group or VIP allocation until it expires.

A hold's remaining units (`quantity - used`) count in `inventory.held`. Orders presenting
the hold's token move units from held to reserved; a cancelled order gives them back to
the hold while it is active. Release (by `releaseHold`, by expiry, or lazily when a buyer
finds a row short) happens exactly once: the conditional `released_at` update decides."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import ValidationError, Validator
from server.ids import new_id
from server.organizations.access import Permission, authorize
from server.ticketing import inventory, seats
from server.ticketing.access import ticket_type_for_write
from server.ticketing.changes import inventory_changed
from server.ticketing.errors import HoldExpired, HoldNotFound, HoldReleased, OccurrenceNotFound
from server.ticketing.models import Hold, Inventory, SeatState
from server.waitlist import hooks as waitlist

MAX_HOLD_DAYS = 366
_RELEASE = text(
    """
    UPDATE holds SET released_at = :now
    WHERE released_at IS NULL AND {condition}
    RETURNING id, inventory_id, quantity - used AS remaining
    """
)


async def create_hold(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_type_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    quantity: int,
    expires_at: datetime,
    note: str | None,
    seat_ids: Sequence[uuid.UUID] | None,
    now: datetime,
) -> Hold:
    ticket_type, event = await ticket_type_for_write(session, actor, ticket_type_id)
    checks = Validator()
    checks.check(quantity > 0, "quantity", "Hold at least one ticket.")
    checks.check(expires_at > now, "expiresAt", "The expiry must be in the future.")
    checks.check(
        expires_at <= now + timedelta(days=MAX_HOLD_DAYS), "expiresAt", "Holds last at most a year."
    )
    checks.check(note is None or len(note) <= 1000, "note", "Notes are at most 1000 characters.")
    if ticket_type.sections:
        checks.check(
            seat_ids is not None and len(seat_ids) == quantity,
            "seatIds",
            "Holds of a seated ticket type name their seats, one per ticket.",
        )
    elif seat_ids:
        checks.add("seatIds", "This ticket type is general admission; it has no seats.")
    checks.raise_if_any()

    row = await _inventory_row(session, ticket_type.id, occurrence_id)
    await inventory.take(
        session,
        [inventory.Claim(row.id, quantity)],
        counter="held",
        now=now,
        fields={row.id: ["quantity"]},
    )
    hold = Hold(
        id=new_id(),
        organization_id=ticket_type.organization_id,
        ticket_type_id=ticket_type.id,
        inventory_id=row.id,
        quantity=quantity,
        token=secrets.token_urlsafe(24),
        note=note,
        expires_at=expires_at,
        created_by_id=actor.user_id,
    )
    session.add(hold)
    await session.flush()
    if seat_ids:
        await seats.allocate(
            session,
            occurrence_id=row.occurrence_id,
            ticket_type_id=ticket_type.id,
            seat_ids=seat_ids,
            state=SeatState.HELD,
            now=now,
            expires_at=expires_at,
            hold_id=hold.id,
            field=["seatIds"],
        )
    inventory_changed(session, event.id, row.occurrence_id)
    return hold


async def _inventory_row(
    session: AsyncSession, ticket_type_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> Inventory:
    rows = (
        await session.scalars(select(Inventory).where(Inventory.ticket_type_id == ticket_type_id))
    ).all()
    if occurrence_id is not None:
        rows = [r for r in rows if r.occurrence_id == occurrence_id]
        if not rows:
            raise OccurrenceNotFound(field="occurrenceId")
    elif len(rows) != 1:
        raise ValidationError(
            "This event has several dates; say which one (occurrenceId).", field="occurrenceId"
        )
    return rows[0]


async def release_hold(
    session: AsyncSession, *, actor: Actor, hold_id: uuid.UUID, now: datetime
) -> Hold:
    hold = await session.get(Hold, hold_id)
    if hold is None:
        raise HoldNotFound(field="id")
    await authorize(
        session,
        actor,
        hold.organization_id,
        Permission.EVENTS_WRITE,
        not_found=HoldNotFound(field="id"),
    )
    released = await _release(session, "id = :hold_id", {"hold_id": hold_id}, now)
    if not released:
        raise HoldReleased(field="id")
    await session.refresh(hold)
    return hold


async def release(session: AsyncSession, *, hold_id: uuid.UUID, now: datetime) -> int:
    """Release one hold (no access check: for domains that own the hold, such as the
    waitlist's offers), exactly once; returns the units it gave back."""
    return await _release(session, "id = :hold_id", {"hold_id": hold_id}, now)


async def release_expired_holds(
    session: AsyncSession, *, now: datetime, inventory_id: uuid.UUID | None = None, limit: int = 500
) -> int:
    """Release holds whose time is up (the expiry job, and the lazy path of a reservation
    that found its row short). Returns the units returned to sale."""
    if inventory_id is not None:
        condition = "inventory_id = :inventory_id AND expires_at <= :now"
        params: dict[str, object] = {"inventory_id": inventory_id}
    else:
        condition = (
            "id IN (SELECT id FROM holds WHERE released_at IS NULL AND expires_at <= :now "
            "ORDER BY expires_at LIMIT :limit FOR UPDATE SKIP LOCKED)"
        )
        params = {"limit": limit}
    return await _release(session, condition, params, now)


async def _release(
    session: AsyncSession, condition: str, params: dict[str, object], now: datetime
) -> int:
    rows = (
        await session.execute(
            text(_RELEASE.text.format(condition=condition)), {**params, "now": now}
        )
    ).all()
    units = 0
    for row in sorted(rows, key=lambda r: r.inventory_id):
        if row.remaining > 0:
            await inventory.give_back(
                session, inventory_id=row.inventory_id, quantity=row.remaining, counter="held"
            )
            await waitlist.keep_freed_units(
                session, inventory_id=row.inventory_id, quantity=row.remaining, now=now
            )
            units += row.remaining
        await seats.release(session, now=now, hold_id=row.id, state=SeatState.HELD)
        event_id, occurrence_id = (
            await session.execute(
                select(Inventory.event_id, Inventory.occurrence_id).where(
                    Inventory.id == row.inventory_id
                )
            )
        ).one()
        inventory_changed(session, event_id, occurrence_id)
    return units


async def _release_expired_on_row(
    session: AsyncSession, inventory_id: uuid.UUID, now: datetime
) -> int:
    return await release_expired_holds(session, now=now, inventory_id=inventory_id)


async def _expired_held_units(
    session: AsyncSession, inventory_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(Hold.inventory_id, func.sum(Hold.quantity - Hold.used))
        .where(
            Hold.inventory_id.in_(inventory_ids), Hold.released_at.is_(None), Hold.expires_at <= now
        )
        .group_by(Hold.inventory_id)
    )
    return {inventory_id: int(units) for inventory_id, units in rows}


inventory.register_expired_releaser(_release_expired_on_row)
inventory.register_expired_counter("held", _expired_held_units)


async def unredeem(
    session: AsyncSession,
    *,
    hold_id: uuid.UUID,
    inventory_id: uuid.UUID,
    quantity: int,
    now: datetime,
) -> bool:
    """A cancelled order returns its units to the hold it came from, if that hold is still
    active (True); otherwise the caller returns them to general sale (False)."""
    row = (
        await session.execute(
            text(
                """
                UPDATE holds SET used = used - :n
                WHERE id = :id AND released_at IS NULL AND expires_at > :now AND used >= :n
                RETURNING id
                """
            ),
            {"n": quantity, "id": hold_id, "now": now},
        )
    ).first()
    if row is not None:
        await inventory.move(
            session, inventory_id=inventory_id, quantity=quantity, source="reserved", target="held"
        )
    await waitlist.offer_order_released(session, hold_id=hold_id, returned=row is not None, now=now)
    return row is not None


async def hold_for_token(session: AsyncSession, token: str, now: datetime) -> Hold | None:
    hold = await session.scalar(select(Hold).where(Hold.token == token))
    if hold is None or hold.released_at is not None or hold.expires_at <= now:
        return None
    return hold


# --- several orders in one transaction -------------------------------------------------

_LOCK_HOLDS = text(
    """
    SELECT id, token, inventory_id, quantity - used AS left_, released_at, expires_at
    FROM holds WHERE token = ANY(CAST(:tokens AS text[])) ORDER BY id FOR UPDATE
    """
)
_APPLY_HOLDS = text(
    """
    UPDATE holds AS h SET used = h.used + x.n
    FROM unnest(CAST(:ids AS uuid[]), CAST(:n AS int[])) AS x(id, n) WHERE h.id = x.id
    """
)


@dataclass(slots=True)
class _Held:
    id: uuid.UUID
    inventory_id: uuid.UUID
    left: int
    active: bool
    used: int = 0  # by this transaction


class HoldLedger:
    """The holds a batch of orders redeems, locked (before their inventory rows, as a
    release locks them): each order redeems from what the orders before it left, and
    `apply` writes the sum in one statement."""

    def __init__(self, holds: dict[str, _Held]) -> None:
        self._holds = holds

    @classmethod
    async def lock(cls, session: AsyncSession, tokens: Sequence[str], now: datetime) -> HoldLedger:
        if not tokens:
            return cls({})
        rows = await session.execute(_LOCK_HOLDS, {"tokens": sorted(set(tokens))})
        return cls(
            {
                r.token: _Held(
                    r.id, r.inventory_id, int(r.left_), r.released_at is None and r.expires_at > now
                )
                for r in rows
            }
        )

    def redeem(self, token: str, *, inventory_id: uuid.UUID, quantity: int) -> None:
        """Take `quantity` units of the hold (held -> reserved: the caller records the move
        in its `StockLedger`), or raise with nothing taken."""
        field = ["holdToken"]
        held = self._holds.get(token)
        if held is None or held.inventory_id != inventory_id:
            raise HoldNotFound(
                "This hold token does not cover this ticket type and date.", field=field
            )
        if not held.active:
            raise HoldExpired(field=field)
        if held.left < quantity:
            raise ValidationError(f"The hold has only {held.left} tickets left.", field=field)
        held.left -= quantity
        held.used += quantity

    def put_back(self, token: str, quantity: int) -> None:
        held = self._holds[token]
        held.left += quantity
        held.used -= quantity

    async def apply(self, session: AsyncSession, *, now: datetime) -> None:
        used = sorted((h.id, h.used) for h in self._holds.values() if h.used)
        if used:
            await session.execute(
                _APPLY_HOLDS, {"ids": [i for i, _ in used], "n": [n for _, n in used]}
            )
        for hold_id, _ in used:
            await waitlist.offer_redeemed(session, hold_id=hold_id, now=now)


async def holds_by_token(session: AsyncSession, tokens: Sequence[str]) -> dict[str, Hold]:
    """The holds named by these tokens (not locked: what an order checks first)."""
    if not tokens:
        return {}
    found = await session.scalars(select(Hold).where(Hold.token.in_(sorted(set(tokens)))))
    return {h.token: h for h in found}
