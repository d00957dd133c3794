"""Inventory counters: the only code that moves `inventory` and occurrence `allocated`.

Every change is one conditional statement that either applies fully or returns no row;
nothing is read in Python and written back. See docs/inventory.md for the design."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import EventOccurrence
from server.ids import new_id
from server.ticketing.models import Inventory, TicketType


async def create_inventory_for_occurrences(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_ids: Sequence[uuid.UUID]
) -> None:
    """Give every existing ticket type of the event a row for each new occurrence. The
    caller holds the event row lock (see docs/inventory.md)."""
    if not occurrence_ids:
        return
    types = (
        await session.execute(
            select(TicketType.id, TicketType.quantity).where(TicketType.event_id == event_id)
        )
    ).all()
    rows = [
        {
            "id": new_id(),
            "ticket_type_id": type_id,
            "occurrence_id": occurrence_id,
            "event_id": event_id,
            "quantity": quantity,
        }
        for type_id, quantity in types
        for occurrence_id in occurrence_ids
    ]
    if rows:
        await session.execute(insert(Inventory), rows)


async def create_inventory_for_ticket_type(
    session: AsyncSession, *, event_id: uuid.UUID, ticket_type_id: uuid.UUID, quantity: int
) -> None:
    """Rows for a new ticket type, one per occurrence of its event (event row locked)."""
    occurrence_ids = (
        await session.scalars(
            select(EventOccurrence.id).where(EventOccurrence.event_id == event_id)
        )
    ).all()
    rows = [
        {
            "id": new_id(),
            "ticket_type_id": ticket_type_id,
            "occurrence_id": occurrence_id,
            "event_id": event_id,
            "quantity": quantity,
        }
        for occurrence_id in occurrence_ids
    ]
    if rows:
        await session.execute(insert(Inventory), rows)
