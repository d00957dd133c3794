"""Waitlist use cases for buyers and members: the functions resolvers call."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.organizations.access import Permission, authorize
from server.waitlist.entries import (
    EntryView,
    get_entry,
    is_active,
    join_waitlist,
    list_waitlist,
    my_entries,
    owned_entry,
    views,
    waitlist_changed,
)
from server.waitlist.errors import EntryNotActive, EntryNotFound
from server.waitlist.models import WaitlistEntry, WaitlistStatus
from server.waitlist.offers import offer_now, withdraw_offer

__all__ = [
    "get_entry",
    "join_waitlist",
    "leave_waitlist",
    "list_waitlist",
    "my_entries",
    "offer_entry",
    "remove_entry",
]


async def _end_entry(session: AsyncSession, entry: WaitlistEntry, now: datetime) -> EntryView:
    if not is_active(entry):
        raise EntryNotActive(
            f"This entry is {entry.status.value}; only waiting or offered entries can leave.",
            field="id",
        )
    await withdraw_offer(session, entry, now=now)
    entry.status = WaitlistStatus.LEFT
    entry.ended_at = now
    await session.flush()
    waitlist_changed(session, entry)
    return (await views(session, [entry], show_tokens=False))[0]


async def leave_waitlist(
    session: AsyncSession, *, actor: Actor, entry_id: uuid.UUID, now: datetime
) -> EntryView:
    """The buyer leaves; an offer they held passes to the next entry."""
    entry = await owned_entry(session, actor, entry_id, lock=True)
    return await _end_entry(session, entry, now)


async def _managed_entry(session: AsyncSession, actor: Actor, entry_id: uuid.UUID) -> WaitlistEntry:
    entry = await session.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is None:
        raise EntryNotFound(field="id")
    await authorize(
        session,
        actor,
        entry.organization_id,
        Permission.ORDERS_WRITE,
        not_found=EntryNotFound(field="id"),
    )
    return entry


async def remove_entry(
    session: AsyncSession, *, actor: Actor, entry_id: uuid.UUID, now: datetime
) -> EntryView:
    """A manager takes an entry off the waitlist (its offer, if any, passes on)."""
    entry = await _managed_entry(session, actor, entry_id)
    return await _end_entry(session, entry, now)


async def offer_entry(
    session: AsyncSession, *, actor: Actor, entry_id: uuid.UUID, now: datetime
) -> EntryView:
    """A manager offers tickets to a waiting entry now, out of turn."""
    entry = await _managed_entry(session, actor, entry_id)
    if entry.status is not WaitlistStatus.WAITING:
        raise EntryNotActive(
            f"This entry is {entry.status.value}; only a waiting entry can be offered tickets.",
            field="id",
        )
    await offer_now(session, entry, now=now)
    return (await views(session, [entry], show_tokens=True))[0]
