"""Offers: pooled units go to waiting entries in the order they joined.

`serve_row` is the whole decision for one inventory row and runs under the row's lock,
so two workers, a cancel and an expiry arriving together serialize on it: each unit is in
exactly one place at any commit (on sale, reserved, sold, an offer's hold, or the pool).
An offer is a hold of the entry's quantity for the ticket type's `waitlist_offer_ttl`; its
token is the entry's `offerToken`. An offer that expires (or whose hold is released)
returns its units through the release hook, so they pool again for the next entry.

Strict order: when the first waiting entry wants more units than the pool has, the pool
waits for more rather than passing it over (a position means what it says)."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit
from server.ids import new_id
from server.outbox.service import emit
from server.ticketing import holds
from server.ticketing.availability import SaleStatus, availability
from server.ticketing.changes import inventory_changed
from server.ticketing.models import Hold, Inventory, TicketType
from server.waitlist.entries import waitlist_changed
from server.waitlist.models import WaitlistEntry, WaitlistStatus
from server.waitlist.pool import (
    WaitlistNudge,
    add_to_pool,
    lock_pool,
    on_sale_units,
    return_to_sale,
    take_from_pool,
)

OFFER_NOTE = "Waitlist offer"


async def serve_row(session: AsyncSession, *, inventory_id: uuid.UUID, now: datetime) -> int:
    """Expire what is due, then offer pooled units in entry order; returns offers made."""
    if await on_sale_units(session, inventory_id) is None:  # locks the row
        return 0
    await expire_offers(session, inventory_id=inventory_id, now=now)
    on_sale = await on_sale_units(session, inventory_id) or 0
    pooled = await lock_pool(session, inventory_id)
    waiting = list(
        await session.scalars(
            select(WaitlistEntry)
            .where(
                WaitlistEntry.inventory_id == inventory_id,
                WaitlistEntry.status == WaitlistStatus.WAITING,
            )
            .order_by(WaitlistEntry.sequence)
            .with_for_update()
        )
    )
    state = await _sale_state(session, inventory_id, now)
    if state is SaleStatus.ENDED:
        for entry in waiting:
            _end(session, entry, WaitlistStatus.EXPIRED, now)
        waiting = []
    demand = sum(e.quantity for e in waiting)
    if state is not SaleStatus.ENDED and demand > pooled and on_sale > 0:
        # Units on sale while people wait (a release that raced a join, a raised quantity):
        # they belong to the waitlist first.
        wanted = min(demand - pooled, on_sale)
        if await add_to_pool(session, inventory_id=inventory_id, quantity=wanted, now=now):
            pooled += wanted
    offers = 0
    if state in (SaleStatus.ON_SALE, SaleStatus.SOLD_OUT):
        ttl = await session.scalar(
            select(TicketType.waitlist_offer_ttl)
            .join(Inventory, Inventory.ticket_type_id == TicketType.id)
            .where(Inventory.id == inventory_id)
        )
        assert ttl is not None
        for entry in waiting:
            if entry.quantity > pooled:
                break
            await take_from_pool(session, inventory_id=inventory_id, quantity=entry.quantity)
            await make_offer(session, entry, ttl=ttl, now=now)
            pooled -= entry.quantity
            demand -= entry.quantity
            offers += 1
    if pooled > demand:
        await return_to_sale(session, inventory_id=inventory_id, quantity=pooled - demand)
        row = await session.get(Inventory, inventory_id)
        assert row is not None
        inventory_changed(session, row.event_id, row.occurrence_id)
    return offers


async def _sale_state(session: AsyncSession, inventory_id: uuid.UUID, now: datetime) -> SaleStatus:
    row = await session.get(Inventory, inventory_id)
    assert row is not None
    rows = await availability(
        session, now=now, ticket_type_ids=[row.ticket_type_id], occurrence_ids=[row.occurrence_id]
    )
    return rows[0].status if rows else SaleStatus.ENDED


async def make_offer(
    session: AsyncSession, entry: WaitlistEntry, *, ttl: int, now: datetime
) -> Hold:
    """Turn units already counted in `held` (pooled, or taken by a manager's offer) into
    the entry's offer; the mail and the `waitlist.offered` webhook follow the commit."""
    from server.jobs.enqueue import enqueue_after_commit
    from server.waitlist.jobs import send_offer_mail, serve_waitlists_job

    hold = Hold(
        id=new_id(),
        organization_id=entry.organization_id,
        ticket_type_id=entry.ticket_type_id,
        inventory_id=entry.inventory_id,
        quantity=entry.quantity,
        token=secrets.token_urlsafe(24),
        note=OFFER_NOTE,
        expires_at=now + timedelta(seconds=ttl),
    )
    session.add(hold)
    await session.flush()
    entry.status = WaitlistStatus.OFFERED
    entry.hold_id = hold.id
    entry.offered_at = now
    entry.offer_expires_at = hold.expires_at
    await session.flush()
    await emit(
        session,
        "waitlist.offered",
        organization_id=entry.organization_id,
        payload={
            "entryId": str(entry.id),
            "eventId": str(entry.event_id),
            "occurrenceId": str(entry.occurrence_id),
            "ticketTypeId": str(entry.ticket_type_id),
            "email": entry.email,
            "quantity": entry.quantity,
            "offerToken": hold.token,
            "offerExpiresAt": hold.expires_at.isoformat(),
        },
    )
    enqueue_after_commit(session, send_offer_mail, str(entry.id), str(hold.id))
    # The offer's end is when its units pass on: look at the row again then.
    enqueue_after_commit(session, serve_waitlists_job, defer_until=hold.expires_at)
    waitlist_changed(session, entry)
    return hold


def _end(
    session: AsyncSession, entry: WaitlistEntry, status: WaitlistStatus, now: datetime
) -> None:
    entry.status = status
    entry.ended_at = now
    waitlist_changed(session, entry)


async def expire_offers(session: AsyncSession, *, inventory_id: uuid.UUID, now: datetime) -> int:
    """Offers whose time is up, or whose hold was released by hand, end: the entry is
    EXPIRED and the hold's unused units go back (and pool again for the next entry)."""
    due = list(
        await session.scalars(
            select(WaitlistEntry)
            .outerjoin(Hold, Hold.id == WaitlistEntry.hold_id)
            .where(
                WaitlistEntry.inventory_id == inventory_id,
                WaitlistEntry.status == WaitlistStatus.OFFERED,
                (WaitlistEntry.offer_expires_at <= now)
                | Hold.released_at.is_not(None)
                | Hold.id.is_(None),
            )
            .order_by(WaitlistEntry.sequence)
            .with_for_update(of=WaitlistEntry)
        )
    )
    for entry in due:
        if entry.hold_id is not None:
            await holds.release(session, hold_id=entry.hold_id, now=now)
        _end(session, entry, WaitlistStatus.EXPIRED, now)
    return len(due)


async def withdraw_offer(session: AsyncSession, entry: WaitlistEntry, *, now: datetime) -> None:
    """The entry leaves (or is removed) while holding an offer: the hold goes, its units
    pool again for the next entry."""
    if entry.status is WaitlistStatus.OFFERED and entry.hold_id is not None:
        await holds.release(session, hold_id=entry.hold_id, now=now)
        after_commit(session, WaitlistNudge(entry.inventory_id))


async def offer_now(session: AsyncSession, entry: WaitlistEntry, *, now: datetime) -> Hold:
    """A manager's offer out of turn: from the pool if it has the units, else from sale.
    Raises SoldOut (nothing changed) when neither has them."""
    row = await session.get(Inventory, entry.inventory_id)
    assert row is not None
    await on_sale_units(session, entry.inventory_id)  # lock order: the row, then the pool
    pooled = await lock_pool(session, entry.inventory_id)
    if pooled >= entry.quantity:
        await take_from_pool(session, inventory_id=entry.inventory_id, quantity=entry.quantity)
    else:
        from server.ticketing import inventory

        await inventory.take(
            session,
            [inventory.Claim(entry.inventory_id, entry.quantity)],
            counter="held",
            now=now,
            fields={entry.inventory_id: ["id"]},
        )
        inventory_changed(session, row.event_id, row.occurrence_id)
    ttl = await session.scalar(
        select(TicketType.waitlist_offer_ttl).where(TicketType.id == entry.ticket_type_id)
    )
    assert ttl is not None
    return await make_offer(session, entry, ttl=ttl, now=now)
