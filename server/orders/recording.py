"""Building and storing placed orders: the rows, inserted with one statement per table
however many orders a transaction places (the hot path of a flash sale, where the unit of
work's bookkeeping would cost more than the rows)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.ids import new_id
from server.orders.context import SaleContext, TypeOnSale
from server.orders.models import DisputeStatus, Order, OrderItem, OrderStatus, Payment
from server.orders.pricing import Totals
from server.orders.requests import Buyer, ItemRequest
from server.ticketing.pricing import PriceLine


def new_order(
    *,
    order_id: uuid.UUID,
    sale: SaleContext,
    occurrence_id: uuid.UUID,
    buyer: Buyer,
    currency: str,
    totals: Totals,
    promo_code_id: uuid.UUID | None,
    hold_id: uuid.UUID | None,
    payment_provider: str | None,
    expires_at: datetime,
    now: datetime,
) -> Order:
    """A pending order, not yet stored (see `insert_orders`)."""
    return Order(
        id=order_id,
        organization_id=sale.organization_id,
        event_id=sale.event_id,
        occurrence_id=occurrence_id,
        buyer_user_id=buyer.user_id,
        buyer_email=buyer.email,
        status=OrderStatus.PENDING,
        currency=currency,
        subtotal_minor=totals.subtotal,
        discount_minor=totals.discount,
        platform_fee_minor=totals.platform_fee,
        provider_fee_minor=totals.provider_fee,
        fees_minor=totals.fees,
        total_minor=totals.total,
        refunded_minor=0,
        promo_code_id=promo_code_id,
        hold_id=hold_id,
        payment_provider=payment_provider,
        expires_at=expires_at,
        dispute_status=DisputeStatus.NONE,
        created_at=now,
        updated_at=now,
    )


def order_items(
    order_id: uuid.UUID,
    lines: Sequence[tuple[ItemRequest, PriceLine]],
    types: dict[uuid.UUID, TypeOnSale],
    hold_id: uuid.UUID | None,
    held_type_id: uuid.UUID | None,
) -> list[OrderItem]:
    """One order item per price line; a seated line gets its share of the item's seats."""
    result = []
    seats_left: dict[uuid.UUID, list[uuid.UUID]] = {
        i.ticket_type_id: sorted(i.seat_ids) for i, _ in lines
    }
    for item, line in lines:
        taken = seats_left[item.ticket_type_id][: line.quantity] if item.seat_ids else []
        seats_left[item.ticket_type_id] = seats_left[item.ticket_type_id][len(taken) :]
        result.append(
            OrderItem(
                id=new_id(),
                order_id=order_id,
                ticket_type_id=item.ticket_type_id,
                inventory_id=types[item.ticket_type_id].inventory_id,
                price_tier_id=line.tier_id,
                hold_id=hold_id if item.ticket_type_id == held_type_id else None,
                quantity=line.quantity,
                unit_price_minor=line.unit_price,
                subtotal_minor=line.unit_price * line.quantity,
                seat_ids=taken,
            )
        )
    return result


async def insert_orders(
    session: AsyncSession,
    orders: Sequence[Order],
    items: Sequence[OrderItem],
    payments: Sequence[Payment] = (),
) -> None:
    await session.execute(insert(Order), [_columns(o) for o in orders])
    await session.execute(insert(OrderItem), [_columns(i) for i in items])
    if payments:
        await session.execute(insert(Payment), [_columns(p) for p in payments])


def _columns(row: Order | OrderItem | Payment) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key in row.__dict__}
