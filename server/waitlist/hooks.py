"""The waitlist's hooks into ticketing and orders: each a single call from a stable point
(hold redemption, the release paths, the order's hold check), so those domains stay
unaware of how the waitlist works."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.waitlist.entries import waitlist_changed
from server.waitlist.errors import OfferForAnotherBuyer
from server.waitlist.models import ACTIVE_STATUSES, WaitlistEntry, WaitlistStatus
from server.waitlist.pool import keep_freed_units

__all__ = ["check_offer_redeemer", "keep_freed_units", "offer_order_released", "offer_redeemed"]


async def offer_redeemed(session: AsyncSession, *, hold_id: uuid.UUID, now: datetime) -> None:
    """An order drew on a hold: if it was an offer, the entry is ACCEPTED."""
    await session.execute(
        text(
            "UPDATE waitlist_entries SET status = 'accepted', accepted_at = :now "
            "WHERE hold_id = :id AND status = 'offered'"
        ),
        {"id": hold_id, "now": now},
    )


_STANDING_ORDER = text(
    """
    SELECT 1 FROM order_items x JOIN orders o ON o.id = x.order_id
    WHERE x.hold_id = :hold AND o.status IN ('pending', 'confirmed', 'refunded')
    LIMIT 1
    """
)


async def offer_order_released(
    session: AsyncSession, *, hold_id: uuid.UUID, returned: bool, now: datetime
) -> None:
    """An order that drew on a hold was cancelled or expired unpaid. If the hold is an
    offer its entry accepted, and no other order from the offer stands, the entry is
    what the buyer would expect:
    - the offer still runs (`returned`: its units went back to the hold): OFFERED again,
      its token good until the offer ends, when it passes on as any offer does;
    - the offer had ended (the units went back to sale, and so first to the next
      waiting entry): EXPIRED.
    If the buyer has joined the waitlist again meanwhile (one active entry per email),
    the old offer ends instead, EXPIRED, and its units pass to the waitlist in order."""
    entry = await session.scalar(
        select(WaitlistEntry)
        .where(WaitlistEntry.hold_id == hold_id, WaitlistEntry.status == WaitlistStatus.ACCEPTED)
        .with_for_update()
    )
    if entry is None or await session.scalar(_STANDING_ORDER, {"hold": hold_id}) is not None:
        return
    if returned and not await _rejoined(session, entry):
        entry.status = WaitlistStatus.OFFERED
        entry.accepted_at = None
    else:
        if returned:
            # The units are back in the offer's hold, which nobody may now redeem: release
            # it, so they pool for the waiting entries in order.
            from server.ticketing.holds import release

            await release(session, hold_id=hold_id, now=now)
        entry.status = WaitlistStatus.EXPIRED
        entry.ended_at = now
    await session.flush()
    waitlist_changed(session, entry)


async def _rejoined(session: AsyncSession, entry: WaitlistEntry) -> bool:
    return (
        await session.scalar(
            select(WaitlistEntry.id).where(
                WaitlistEntry.inventory_id == entry.inventory_id,
                WaitlistEntry.email == entry.email,
                WaitlistEntry.status.in_(ACTIVE_STATUSES),
                WaitlistEntry.id != entry.id,
            )
        )
        is not None
    )


async def check_offer_redeemer(
    session: AsyncSession, *, hold_id: uuid.UUID, email: str, user_id: uuid.UUID | None
) -> None:
    """An offer is for the buyer it was made to (by account or by email); anyone else who
    presents its token is refused, with nothing changed."""
    row = (
        await session.execute(
            select(WaitlistEntry.email, WaitlistEntry.user_id).where(
                WaitlistEntry.hold_id == hold_id
            )
        )
    ).first()
    if row is None:
        return
    if (user_id is not None and row.user_id == user_id) or row.email == email.lower():
        return
    raise OfferForAnotherBuyer(field="holdToken")
