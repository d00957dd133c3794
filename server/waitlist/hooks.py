"""The waitlist's hooks into ticketing and orders: each a single call from a stable point
(hold redemption, the release paths, the order's hold check), so those domains stay
unaware of how the waitlist works."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.waitlist.errors import OfferForAnotherBuyer
from server.waitlist.models import WaitlistEntry
from server.waitlist.pool import keep_freed_units

__all__ = ["check_offer_redeemer", "keep_freed_units", "offer_redeemed"]


async def offer_redeemed(session: AsyncSession, *, hold_id: uuid.UUID, now: datetime) -> None:
    """An order drew on a hold: if it was an offer, the entry is ACCEPTED."""
    await session.execute(
        text(
            "UPDATE waitlist_entries SET status = 'accepted', accepted_at = :now "
            "WHERE hold_id = :id AND status = 'offered'"
        ),
        {"id": hold_id, "now": now},
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
