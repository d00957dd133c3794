"""Cancelling a pending order: the buyer, or the organization's managers."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.orders import lifecycle
from server.orders.errors import NotPending, OrderNotFound
from server.orders.models import Order, OrderStatus
from server.orders.reading import may_read_order
from server.organizations.access import Permission, authorize


async def cancel_order(
    session: AsyncSession, *, actor: Actor, order_id: uuid.UUID, now: datetime
) -> Order:
    """The buyer (or the organization's managers) cancel a pending order; its units go
    back on sale at once."""
    order = await session.get(Order, order_id)
    if order is None or not await may_read_order(session, actor, order):
        raise OrderNotFound(field="id")
    is_buyer = (actor.user_id is not None and order.buyer_user_id == actor.user_id) or (
        actor.is_anonymous and order.buyer_user_id is None
    )
    if not is_buyer:
        await authorize(
            session,
            actor,
            order.organization_id,
            Permission.ORDERS_WRITE,
            not_found=OrderNotFound(field="id"),
        )
    if order.status is not OrderStatus.PENDING:
        raise NotPending(
            f"This order is {order.status.value}; only pending orders can be cancelled.", field="id"
        )
    reason = "buyer" if is_buyer else "organizer"
    if not await lifecycle.release_pending(session, order_id=order.id, now=now, reason=reason):
        raise NotPending("This order changed meanwhile; reload it.", field="id")
    await session.refresh(order)
    return order
