"""Per-buyer limits (`max_per_buyer` on a ticket type) for a batch of orders.

A buyer's orders of a limited ticket type serialize on an advisory lock on (buyer, type),
taken first in the lock order (docs/inventory.md), before what they already hold is
counted; within a batch, each order counts the ones before it. So two orders of one buyer,
in one batch or in two transactions, never both pass a limit that only one fits."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.orders.errors import BuyerLimit
from server.orders.models import Order, OrderItem, OrderStatus
from server.orders.requests import Buyer, ItemRequest

ACTIVE = (OrderStatus.PENDING, OrderStatus.CONFIRMED)
# unnest yields the (sorted) keys in array order, so the locks are taken in that order.
_LOCK = text(
    "SELECT pg_advisory_xact_lock(hashtextextended(k, 0)) FROM unnest(CAST(:keys AS text[])) AS k"
)

Limited = tuple[Buyer, uuid.UUID]  # a buyer and a ticket type with a per-buyer limit


@dataclass
class BuyerLimits:
    held: dict[tuple[str, uuid.UUID], int]

    @classmethod
    async def lock(cls, session: AsyncSession, wanted: Sequence[Limited]) -> BuyerLimits:
        if not wanted:
            return cls({})
        keys = sorted({f"buyer-limit:{buyer.key}:{type_id}" for buyer, type_id in wanted})
        await session.execute(_LOCK, {"keys": keys})
        return cls(await _held(session, wanted))

    def take(
        self,
        buyer: Buyer,
        items: Sequence[ItemRequest],
        limits: dict[uuid.UUID, int | None],
    ) -> list[tuple[uuid.UUID, int]]:
        """Count the order's limited lines against what the buyer holds, or raise
        BuyerLimit with nothing counted. Returns what was counted, for `put_back`."""
        counted = []
        for n, item in sorted(enumerate(items), key=lambda pair: pair[1].ticket_type_id):
            limit = limits.get(item.ticket_type_id)
            if limit is None:
                continue
            held = self.held.get((buyer.key, item.ticket_type_id), 0)
            if held + item.quantity > limit:
                raise BuyerLimit(
                    f"At most {limit} of these per buyer; you already have {held}.",
                    field=["items", str(n), "quantity"],
                )
            counted.append((item.ticket_type_id, item.quantity))
        for type_id, quantity in counted:
            self.held[(buyer.key, type_id)] = self.held.get((buyer.key, type_id), 0) + quantity
        return counted

    def put_back(self, buyer: Buyer, counted: Sequence[tuple[uuid.UUID, int]]) -> None:
        for type_id, quantity in counted:
            self.held[(buyer.key, type_id)] -= quantity


async def _held(
    session: AsyncSession, wanted: Sequence[Limited]
) -> dict[tuple[str, uuid.UUID], int]:
    """Tickets each (buyer, type) holds in active orders: a signed-in buyer's orders, or a
    guest email's orders whoever placed them."""
    users = sorted({b.user_id for b, _ in wanted if b.user_id is not None})
    emails = sorted({b.email for b, _ in wanted if b.user_id is None})
    types = sorted({t for _, t in wanted})
    rows = await session.execute(
        select(
            OrderItem.ticket_type_id,
            Order.buyer_user_id,
            Order.buyer_email,
            func.sum(OrderItem.quantity),
        )
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            OrderItem.ticket_type_id.in_(types),
            Order.status.in_(ACTIVE),
            or_(Order.buyer_user_id.in_(users), Order.buyer_email.in_(emails)),
        )
        .group_by(OrderItem.ticket_type_id, Order.buyer_user_id, Order.buyer_email)
    )
    held: dict[tuple[str, uuid.UUID], int] = {}
    for buyer, type_id in set(wanted):
        held[(buyer.key, type_id)] = 0
    for type_id, user_id, email, quantity in rows:
        for buyer, wanted_type in set(wanted):
            if wanted_type != type_id:
                continue
            if (buyer.user_id is not None and user_id == buyer.user_id) or (
                buyer.user_id is None and email == buyer.email
            ):
                held[(buyer.key, type_id)] += int(quantity)
    return held
