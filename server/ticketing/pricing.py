"""Which price applies now, and taking units from a quantity-limited tier.

At most one tier of a ticket type is in its window at any moment (windows never overlap:
an exclusion constraint). That tier applies while it has units left; otherwise the
ticket type's base price does."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
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


# --- several orders in one transaction -------------------------------------------------

_LOCK_TIERS = text(
    """
    SELECT id, ticket_type_id, price_minor, starts_at, ends_at, max_quantity, allocated
    FROM price_tiers WHERE ticket_type_id = ANY(CAST(:ids AS uuid[]))
    ORDER BY ticket_type_id, id FOR UPDATE
    """
)
_APPLY_TIERS = text(
    """
    UPDATE price_tiers AS p SET allocated = p.allocated + x.n
    FROM unnest(CAST(:ids AS uuid[]), CAST(:n AS int[])) AS x(id, n) WHERE p.id = x.id
    """
)


@dataclass(slots=True)
class _Tier:
    id: uuid.UUID
    price_minor: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_quantity: int | None
    allocated: int
    taken: int = 0  # by this transaction


class TierLedger:
    """The price tiers of a batch's ticket types, locked (in the order of their ticket
    types' ids): each order is priced by what the orders before it left in a quantity
    tier (a tier with fewer left than asked sells what it has; the rest go at the base
    price), and `apply` writes the sum."""

    def __init__(self, tiers: dict[uuid.UUID, list[_Tier]]) -> None:
        self._tiers = tiers

    @classmethod
    async def lock(cls, session: AsyncSession, ticket_type_ids: Sequence[uuid.UUID]) -> TierLedger:
        tiers: dict[uuid.UUID, list[_Tier]] = {}
        if ticket_type_ids:
            rows = await session.execute(_LOCK_TIERS, {"ids": sorted(set(ticket_type_ids))})
            for r in rows:
                tiers.setdefault(r.ticket_type_id, []).append(
                    _Tier(r.id, r.price_minor, r.starts_at, r.ends_at, r.max_quantity, r.allocated)
                )
        return cls(tiers)

    def price(
        self, ticket_type_id: uuid.UUID, *, base_price: int, quantity: int, now: datetime
    ) -> list[PriceLine]:
        """The lines of `quantity` units as of `now`, taking them from the tier in force."""
        tier = next(
            (
                t
                for t in self._tiers.get(ticket_type_id, [])
                if (t.starts_at is None or t.starts_at <= now)
                and (t.ends_at is None or now < t.ends_at)
            ),
            None,
        )
        if tier is None:
            return [PriceLine(None, base_price, quantity)]
        left = quantity if tier.max_quantity is None else tier.max_quantity - tier.allocated
        taken = max(0, min(quantity, left))
        tier.allocated += taken
        tier.taken += taken
        lines = [PriceLine(tier.id, tier.price_minor, taken)] if taken else []
        if quantity - taken > 0:
            lines.append(PriceLine(None, base_price, quantity - taken))
        return lines

    def put_back(self, ticket_type_id: uuid.UUID, lines: Sequence[PriceLine]) -> None:
        for tier in self._tiers.get(ticket_type_id, []):
            for line in lines:
                if line.tier_id == tier.id:
                    tier.allocated -= line.quantity
                    tier.taken -= line.quantity

    async def apply(self, session: AsyncSession) -> None:
        taken = sorted((t.id, t.taken) for tiers in self._tiers.values() for t in tiers if t.taken)
        if taken:
            await session.execute(
                _APPLY_TIERS, {"ids": [i for i, _ in taken], "n": [n for _, n in taken]}
            )
