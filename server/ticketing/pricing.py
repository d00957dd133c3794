"""Which price applies now, and taking units from a quantity-limited tier.

At most one tier of a ticket type is in its window at any moment (windows never overlap:
an exclusion constraint). That tier applies while it has units left; otherwise the
ticket type's base price does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.ticketing.models import PriceTier, TicketType


def in_window(tier: PriceTier, now: datetime) -> bool:
    return (tier.starts_at is None or tier.starts_at <= now) and (
        tier.ends_at is None or now < tier.ends_at
    )


def current_tier(tiers: Sequence[PriceTier], now: datetime) -> PriceTier | None:
    for tier in tiers:
        if in_window(tier, now) and (
            tier.max_quantity is None or tier.allocated < tier.max_quantity
        ):
            return tier
    return None


def current_price(ticket_type: TicketType, tiers: Sequence[PriceTier], now: datetime) -> int:
    tier = current_tier(tiers, now)
    return tier.price_minor if tier is not None else ticket_type.price_minor


@dataclass(frozen=True, slots=True)
class PriceLine:
    tier_id: uuid.UUID | None
    unit_price: int
    quantity: int


_TAKE_FROM_TIER = text(
    """
    UPDATE price_tiers AS p SET allocated = p.allocated + x.take
    FROM (
        SELECT id, CASE WHEN max_quantity IS NULL THEN :n
                        ELSE LEAST(:n, max_quantity - allocated) END AS take
        FROM price_tiers WHERE id = :id FOR UPDATE
    ) AS x
    WHERE p.id = x.id AND x.take > 0
    RETURNING x.take
    """
)


async def take_price_lines(
    session: AsyncSession,
    *,
    ticket_type_id: uuid.UUID,
    base_price: int,
    quantity: int,
    now: datetime,
    has_tiers: bool = True,
) -> list[PriceLine]:
    """Price `quantity` units as of `now`, taking them from the tier in force. A quantity
    tier with fewer left than asked sells what it has; the rest go at the base price.
    `has_tiers=False` (known from the caller's own query) skips the tier lookup."""
    if not has_tiers:
        return [PriceLine(None, base_price, quantity)]
    tiers = (
        await session.scalars(
            select(PriceTier)
            .where(PriceTier.ticket_type_id == ticket_type_id)
            .order_by(PriceTier.id)
        )
    ).all()
    tier = next((t for t in tiers if in_window(t, now)), None)
    if tier is None:
        return [PriceLine(None, base_price, quantity)]
    taken = await session.scalar(_TAKE_FROM_TIER, {"id": tier.id, "n": quantity}) or 0
    lines = []
    if taken:
        lines.append(PriceLine(tier.id, tier.price_minor, int(taken)))
    if quantity - taken > 0:
        lines.append(PriceLine(None, base_price, quantity - int(taken)))
    return lines


async def give_back_to_tier(session: AsyncSession, *, tier_id: uuid.UUID, quantity: int) -> None:
    await session.execute(
        text("UPDATE price_tiers SET allocated = allocated - :n WHERE id = :id"),
        {"id": tier_id, "n": quantity},
    )


async def retake_from_tier(session: AsyncSession, *, tier_id: uuid.UUID, quantity: int) -> bool:
    """A revived order takes its tier units back if the tier still has them. The buyer
    keeps the price paid either way; False only means the tier's count stays as it is."""
    row = (
        await session.execute(
            text(
                "UPDATE price_tiers SET allocated = allocated + :n WHERE id = :id "
                "AND (max_quantity IS NULL OR allocated + :n <= max_quantity) RETURNING id"
            ),
            {"id": tier_id, "n": quantity},
        )
    ).first()
    return row is not None
