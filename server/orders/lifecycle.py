"""Order state changes: pending -> confirmed -> (cancelled | refunded); pending -> cancelled.

Every change starts with one conditional UPDATE of the order's status, so concurrent
actors (the expiry job, a buyer's cancelOrder, a buyer who finds a row short, a payment
webhook) change an order once between them, and only the winner moves inventory."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit, note_writer
from server.errors import DomainError
from server.orders.models import Order, OrderItem, OrderStatus
from server.outbox.service import emit
from server.replicas.positions import user_scope
from server.ticketing import holds, inventory, seats
from server.ticketing.changes import OrderChanged, availability_changing, inventory_changed
from server.ticketing.pricing import give_back_to_tier, retake_from_tier
from server.waitlist import hooks as waitlist

_RELEASE = text(
    """
    UPDATE orders SET status = 'cancelled', cancelled_at = :now, cancel_reason = :reason
    WHERE id = :id AND status = 'pending'
    RETURNING id
    """
)


def order_payload(order: Order) -> dict[str, object]:
    """The outbox payload of order events: ids, state and money (minor units)."""
    return {
        "orderId": str(order.id),
        "eventId": str(order.event_id),
        "occurrenceId": str(order.occurrence_id),
        "status": order.status.value.upper(),
        "buyerEmail": order.buyer_email,
        "currency": order.currency,
        "subtotal": order.subtotal_minor,
        "discount": order.discount_minor,
        "fees": order.fees_minor,
        "total": order.total_minor,
        "refunded": order.refunded_minor,
    }


async def items_of(session: AsyncSession, order_id: uuid.UUID) -> list[OrderItem]:
    rows = await session.scalars(
        select(OrderItem)
        .where(OrderItem.order_id == order_id)
        .order_by(OrderItem.inventory_id, OrderItem.id)
    )
    return list(rows)


async def release_pending(
    session: AsyncSession, *, order_id: uuid.UUID, now: datetime, reason: str
) -> bool:
    """Cancel a pending order and return everything it reserved, exactly once. False if
    the order was not pending (someone else got there first)."""
    if await session.scalar(_RELEASE, {"id": order_id, "now": now, "reason": reason}) is None:
        return False
    order = await session.get(Order, order_id, populate_existing=True)
    assert order is not None
    await _return_units(session, order, await items_of(session, order_id), now, counter="reserved")
    after_commit(session, OrderChanged(order.id))
    await emit(
        session,
        "order.cancelled",
        organization_id=order.organization_id,
        payload={**order_payload(order), "reason": reason},
    )
    return True


async def _return_units(
    session: AsyncSession, order: Order, items: Sequence[OrderItem], now: datetime, *, counter: str
) -> None:
    """Give an order's units back (lock order: inventory rows, capacity, tiers, seats,
    promo code). Units redeemed from a hold go back to it while it is active."""
    returned_to_hold: set[uuid.UUID] = set()
    for item in items:
        if (
            counter == "reserved"
            and item.hold_id is not None
            and await holds.unredeem(
                session,
                hold_id=item.hold_id,
                inventory_id=item.inventory_id,
                quantity=item.quantity,
                now=now,
            )
        ):
            returned_to_hold.add(item.hold_id)
            continue
        await inventory.give_back(
            session,
            inventory_id=item.inventory_id,
            quantity=item.quantity,
            counter=counter,  # type: ignore[arg-type]
        )
        await waitlist.keep_freed_units(
            session, inventory_id=item.inventory_id, quantity=item.quantity, now=now
        )
    for item in sorted(items, key=lambda i: (i.ticket_type_id, i.id)):
        if item.price_tier_id is not None:
            await give_back_to_tier(session, tier_id=item.price_tier_id, quantity=item.quantity)
    for hold_id in returned_to_hold:
        await seats.return_to_hold(session, order_id=order.id, hold_id=hold_id)
    await seats.release(session, now=now, order_id=order.id)
    if order.promo_code_id is not None:
        from server.promotions.service import release_redemption

        await release_redemption(session, order_id=order.id, now=now)
    inventory_changed(session, order.event_id, order.occurrence_id)


async def confirm(session: AsyncSession, *, order: Order, now: datetime) -> bool:
    """Pending -> confirmed: reserved units become sold, seats sold, tickets issued.
    The caller holds the order row lock. False if the order was not pending."""
    if order.status is not OrderStatus.PENDING:
        return False
    await availability_changing(session, order.event_id)
    items = await items_of(session, order.id)
    for item in items:
        await inventory.move(
            session,
            inventory_id=item.inventory_id,
            quantity=item.quantity,
            source="reserved",
            target="sold",
        )
    await seats.mark_sold(session, order_id=order.id)
    order.status = OrderStatus.CONFIRMED
    order.confirmed_at = now
    await session.flush()
    after_commit(session, OrderChanged(order.id))
    if order.buyer_user_id is not None:
        # Whoever confirms it (a provider's webhook), the buyer reads it confirmed at once.
        note_writer(session, user_scope(order.buyer_user_id))
    from server.tickets.service import issue_tickets

    await issue_tickets(session, order=order, items=items, now=now)
    await emit(
        session,
        "order.confirmed",
        organization_id=order.organization_id,
        payload=order_payload(order),
    )
    inventory_changed(session, order.event_id, order.occurrence_id, marked=True)
    return True


async def reserve_again(session: AsyncSession, *, order: Order, now: datetime) -> bool:
    """A payment succeeded for an order that expired and was released: take its units
    again if they are still there (same prices: the buyer has paid them). The order goes
    back to pending, ready to confirm; False (and nothing changed) if stock is gone."""
    items = await items_of(session, order.id)
    try:
        async with session.begin_nested():
            claims = [inventory.Claim(i.inventory_id, i.quantity) for i in items]
            await inventory.take(session, claims, counter="reserved", now=now)
            for item in items:
                if item.seat_ids:
                    await seats.allocate(
                        session,
                        occurrence_id=order.occurrence_id,
                        ticket_type_id=item.ticket_type_id,
                        seat_ids=item.seat_ids,
                        state=seats.SeatState.RESERVED,
                        now=now,
                        expires_at=None,
                        order_id=order.id,
                    )
            for item in items:
                if item.price_tier_id is not None:
                    await retake_from_tier(
                        session, tier_id=item.price_tier_id, quantity=item.quantity
                    )
            if order.promo_code_id is not None:
                from server.promotions.service import reclaim_redemption

                if not await reclaim_redemption(session, order_id=order.id, now=now):
                    # The code's uses are gone: as if the stock were (the buyer is refunded).
                    raise DomainError("The promo code has no use left for this order.")
    except DomainError:
        return False
    order.status = OrderStatus.PENDING
    order.cancelled_at = None
    order.cancel_reason = None
    await session.flush()
    return True


async def finish_refund(session: AsyncSession, *, order: Order, now: datetime) -> None:
    """A confirmed order refunded in full: its tickets stop working and its units return
    to sale."""
    order.status = OrderStatus.REFUNDED
    await session.flush()
    after_commit(session, OrderChanged(order.id))
    from server.tickets.service import cancel_tickets_for_order

    await cancel_tickets_for_order(session, order_id=order.id, now=now)
    await _return_units(session, order, await items_of(session, order.id), now, counter="sold")


# --- expiry ----------------------------------------------------------------------------


async def expire_due(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """The expiry job: release pending orders whose time is up. Returns how many."""
    ids = (
        await session.scalars(
            select(Order.id)
            .where(Order.status == OrderStatus.PENDING, Order.expires_at <= now)
            .order_by(Order.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    released = 0
    for order_id in ids:
        released += await release_pending(session, order_id=order_id, now=now, reason="expired")
    return released


async def _release_expired_on_row(
    session: AsyncSession, inventory_id: uuid.UUID, now: datetime
) -> int:
    # SKIP LOCKED: the caller holds the inventory row, and an order locked elsewhere (a
    # payment confirming it) would wait for that row in turn; it is released next time.
    ids = (
        await session.scalars(
            select(Order.id)
            .where(
                Order.id.in_(
                    select(OrderItem.order_id).where(OrderItem.inventory_id == inventory_id)
                ),
                Order.status == OrderStatus.PENDING,
                Order.expires_at <= now,
            )
            .with_for_update(skip_locked=True)
        )
    ).all()
    units = 0
    for order_id in sorted(ids):
        if await release_pending(session, order_id=order_id, now=now, reason="expired"):
            units += 1
    return units


async def _expired_reserved_units(
    session: AsyncSession, inventory_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(OrderItem.inventory_id, func.sum(OrderItem.quantity))
        .join(Order, Order.id == OrderItem.order_id)
        .where(
            OrderItem.inventory_id.in_(inventory_ids),
            Order.status == OrderStatus.PENDING,
            Order.expires_at <= now,
        )
        .group_by(OrderItem.inventory_id)
    )
    return {inventory_id: int(units) for inventory_id, units in rows}


inventory.register_expired_releaser(_release_expired_on_row)
inventory.register_expired_counter("reserved", _expired_reserved_units)
