"""What is left to buy, per ticket type and occurrence, computed in one query.

Counts subtract claims that expired but are not released yet, so availability is right
before the expiry job runs: available = min(quantity - sold - reserved - held, capacity
left), never negative, never above the quantity."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import Event, EventOccurrence, EventStatus
from server.ticketing.inventory import expired_units
from server.ticketing.models import Inventory, TicketType


class SaleStatus(StrEnum):
    NOT_ON_SALE = "NOT_ON_SALE"
    ON_SALE = "ON_SALE"
    SOLD_OUT = "SOLD_OUT"
    ENDED = "ENDED"


@dataclass(frozen=True, slots=True)
class Availability:
    inventory_id: uuid.UUID
    ticket_type_id: uuid.UUID
    occurrence_id: uuid.UUID
    quantity: int
    available: int
    sold: int
    reserved: int
    held: int
    status: SaleStatus
    starts_at: datetime
    ends_at: datetime


def sale_status(
    *,
    available: int,
    now: datetime,
    event_status: EventStatus,
    occurrence_ends_at: datetime,
    sales_start: datetime | None,
    sales_end: datetime | None,
) -> SaleStatus:
    if event_status in (EventStatus.COMPLETED, EventStatus.CANCELLED):
        return SaleStatus.ENDED
    if occurrence_ends_at <= now or (sales_end is not None and now >= sales_end):
        return SaleStatus.ENDED
    if event_status is not EventStatus.PUBLISHED or (sales_start is not None and now < sales_start):
        return SaleStatus.NOT_ON_SALE
    return SaleStatus.ON_SALE if available > 0 else SaleStatus.SOLD_OUT


async def availability(
    session: AsyncSession,
    *,
    now: datetime,
    event_ids: Sequence[uuid.UUID] = (),
    ticket_type_ids: Sequence[uuid.UUID] = (),
    occurrence_ids: Sequence[uuid.UUID] = (),
) -> list[Availability]:
    """Rows for the given events, or ticket types, optionally narrowed to occurrences."""
    query = (
        select(
            Inventory.id,
            Inventory.ticket_type_id,
            Inventory.occurrence_id,
            Inventory.quantity,
            Inventory.sold,
            Inventory.reserved,
            Inventory.held,
            EventOccurrence.capacity,
            EventOccurrence.allocated,
            EventOccurrence.starts_at,
            EventOccurrence.ends_at,
            TicketType.sales_start,
            TicketType.sales_end,
            TicketType.position,
            Event.status,
        )
        .join(EventOccurrence, EventOccurrence.id == Inventory.occurrence_id)
        .join(TicketType, TicketType.id == Inventory.ticket_type_id)
        .join(Event, Event.id == Inventory.event_id)
        .order_by(
            EventOccurrence.starts_at, TicketType.position, TicketType.created_at, TicketType.id
        )
    )
    if event_ids:
        query = query.where(Inventory.event_id.in_(event_ids))
    if ticket_type_ids:
        query = query.where(Inventory.ticket_type_id.in_(ticket_type_ids))
    if occurrence_ids:
        query = query.where(Inventory.occurrence_id.in_(occurrence_ids))
    rows = (await session.execute(query)).all()
    if not rows:
        return []
    expired = await expired_units(session, [r.id for r in rows], now)
    expired_by_occurrence: dict[uuid.UUID, int] = {}
    for r in rows:
        units = expired.get(r.id, {})
        expired_by_occurrence[r.occurrence_id] = expired_by_occurrence.get(
            r.occurrence_id, 0
        ) + sum(units.values())
    result = []
    for r in rows:
        units = expired.get(r.id, {})
        reserved = max(0, r.reserved - units.get("reserved", 0))
        held = max(0, r.held - units.get("held", 0))
        left = r.quantity - r.sold - reserved - held
        if r.capacity is not None:
            capacity_left = r.capacity - (
                r.allocated - expired_by_occurrence.get(r.occurrence_id, 0)
            )
            left = min(left, capacity_left)
        available = max(0, min(left, r.quantity))
        status = sale_status(
            available=available,
            now=now,
            event_status=r.status,
            occurrence_ends_at=r.ends_at,
            sales_start=r.sales_start,
            sales_end=r.sales_end,
        )
        result.append(
            Availability(
                inventory_id=r.id,
                ticket_type_id=r.ticket_type_id,
                occurrence_id=r.occurrence_id,
                quantity=r.quantity,
                available=available,
                sold=r.sold,
                reserved=reserved,
                held=held,
                status=status,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
            )
        )
    return result
