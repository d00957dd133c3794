"""Freed units kept for a waitlist, so nobody snipes them from public sale.

Whenever units of a row return to sale (an order cancelled, expired or refunded, a hold
released or expired, the quantity raised), `keep_freed_units` runs in the same
transaction, right after the release: as many of those units as the row's waiting entries
still lack go straight back into `inventory.held` and into the row's pool. No other
transaction ever sees them on sale. The offer job (server.waitlist.offers) turns pooled
units into offers, in entry order.

Lock order: the inventory row (and its occurrence's capacity row), then the pool row. A
release arrives holding the first two already."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit
from server.errors import DomainError
from server.ticketing import inventory

_WAITING_UNITS = text(
    "SELECT coalesce(sum(quantity), 0) FROM waitlist_entries "
    "WHERE inventory_id = :id AND status = 'waiting'"
)
_LOCK_POOL = text(
    """
    INSERT INTO waitlist_pools (inventory_id, units) VALUES (:id, 0)
    ON CONFLICT (inventory_id) DO UPDATE SET units = waitlist_pools.units
    RETURNING units
    """
)
_ON_SALE = text("SELECT quantity - sold - reserved - held FROM inventory WHERE id = :id FOR UPDATE")
_ADD = text("UPDATE waitlist_pools SET units = units + :n WHERE inventory_id = :id")


@dataclass(frozen=True, slots=True)
class WaitlistNudge:
    """After-commit effect: units were pooled (or an offer changed) on this row; the offer
    job should look at it now rather than at its next sweep."""

    inventory_id: uuid.UUID


async def waiting_units(session: AsyncSession, inventory_id: uuid.UUID) -> int:
    return int(await session.scalar(_WAITING_UNITS, {"id": inventory_id}) or 0)


async def lock_pool(session: AsyncSession, inventory_id: uuid.UUID) -> int:
    """Lock the row's pool (created empty when missing) and return its units."""
    return int(await session.scalar(_LOCK_POOL, {"id": inventory_id}) or 0)


async def keep_freed_units(
    session: AsyncSession, *, inventory_id: uuid.UUID, quantity: int, now: datetime
) -> int:
    """Take back into the pool up to `quantity` units that were just given back to sale on
    `inventory_id`, as many as its waiting entries still lack. Returns how many. Without
    waiting entries this is one indexed read and nothing else."""
    if quantity <= 0:
        return 0
    waiting = await waiting_units(session, inventory_id)
    if waiting == 0:
        return 0
    on_sale = await on_sale_units(session, inventory_id) or 0
    pooled = await lock_pool(session, inventory_id)
    keep = min(quantity, waiting - pooled, on_sale)
    if keep <= 0:
        return 0
    return (
        keep if await add_to_pool(session, inventory_id=inventory_id, quantity=keep, now=now) else 0
    )


async def on_sale_units(session: AsyncSession, inventory_id: uuid.UUID) -> int | None:
    """Units of the row on public sale, with the row locked (lock order: before the pool);
    None when the row is gone."""
    units = await session.scalar(_ON_SALE, {"id": inventory_id})
    return None if units is None else int(units)


async def add_to_pool(
    session: AsyncSession, *, inventory_id: uuid.UUID, quantity: int, now: datetime
) -> bool:
    """Move `quantity` units on sale into the (locked) pool; False, and nothing changed,
    when the venue's capacity for the date has no room for them (a raised quantity)."""
    try:
        async with session.begin_nested():
            await inventory.take(
                session, [inventory.Claim(inventory_id, quantity)], counter="held", now=now
            )
    except DomainError:
        return False
    await session.execute(_ADD, {"id": inventory_id, "n": quantity})
    after_commit(session, WaitlistNudge(inventory_id))
    return True


async def return_to_sale(session: AsyncSession, *, inventory_id: uuid.UUID, quantity: int) -> None:
    """Give pooled units nobody waits for any more back to sale (pool locked)."""
    await session.execute(_ADD, {"id": inventory_id, "n": -quantity})
    await inventory.give_back(session, inventory_id=inventory_id, quantity=quantity, counter="held")


async def take_from_pool(session: AsyncSession, *, inventory_id: uuid.UUID, quantity: int) -> None:
    """Pooled units become an offer's hold: both count in `held`, so only the pool moves."""
    await session.execute(_ADD, {"id": inventory_id, "n": -quantity})
