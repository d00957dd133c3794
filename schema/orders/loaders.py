"""Loaders for orders: one query per batch, results in key order, None for misses. The
catalog rows an order points at (event, occurrence, price tier, seats) are loaded here, and
tickets load theirs through the same loaders and relation helpers, so one request batches
them together."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from schema.context import Info
from schema.loaders import ContextLoader
from server.events.models import EventOccurrence as OccurrenceModel
from server.events.models import EventSeat
from server.events.reads import events_by_ids
from server.events.records import EventRecord, OccurrenceRecord
from server.orders.models import OrderItem, Payment
from server.ticketing.models import PriceTier

if TYPE_CHECKING:
    from schema.events.types import Event as EventType
    from schema.events.types import EventOccurrence as EventOccurrenceType


class OrderItemsByOrderLoader(ContextLoader[uuid.UUID, list[OrderItem]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[OrderItem]]:
        async with self.context.db.read() as session:
            rows = (
                await session.scalars(
                    select(OrderItem).where(OrderItem.order_id.in_(keys)).order_by(OrderItem.id)
                )
            ).all()
        grouped: dict[uuid.UUID, list[OrderItem]] = {k: [] for k in keys}
        for row in rows:
            grouped[row.order_id].append(row)
        return [grouped[k] for k in keys]


class PaymentsByOrderLoader(ContextLoader[uuid.UUID, list[Payment]]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[list[Payment]]:
        async with self.context.db.read() as session:
            rows = (
                await session.scalars(
                    select(Payment).where(Payment.order_id.in_(keys)).order_by(Payment.created_at)
                )
            ).all()
        grouped: dict[uuid.UUID, list[Payment]] = {k: [] for k in keys}
        for row in rows:
            grouped[row.order_id].append(row)
        return [grouped[k] for k in keys]


class EventRecordByIdLoader(ContextLoader[uuid.UUID, EventRecord | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[EventRecord | None]:
        async with self.context.db.read() as session:
            found = await events_by_ids(session, keys)
        return [found.get(k) for k in keys]


class OccurrenceByIdLoader(ContextLoader[uuid.UUID, OccurrenceModel | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[OccurrenceModel | None]:
        async with self.context.db.read() as session:
            rows = (
                await session.scalars(select(OccurrenceModel).where(OccurrenceModel.id.in_(keys)))
            ).all()
        found = {r.id: r for r in rows}
        return [found.get(k) for k in keys]


class PriceTierByIdLoader(ContextLoader[uuid.UUID, PriceTier | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[PriceTier | None]:
        async with self.context.db.read() as session:
            rows = (await session.scalars(select(PriceTier).where(PriceTier.id.in_(keys)))).all()
        found = {r.id: r for r in rows}
        return [found.get(k) for k in keys]


class EventSeatByIdLoader(ContextLoader[uuid.UUID, EventSeat | None]):
    async def batch_load_fn(self, keys: Sequence[uuid.UUID]) -> list[EventSeat | None]:
        async with self.context.db.read() as session:
            rows = (await session.scalars(select(EventSeat).where(EventSeat.id.in_(keys)))).all()
        found = {r.id: r for r in rows}
        return [found.get(k) for k in keys]


async def event_of(info: Info, event_id: uuid.UUID) -> EventType:
    """The event an order or a ticket belongs to (they are deleted with it)."""
    from schema.events.types import Event as EventType

    found = await info.context.loader(EventRecordByIdLoader).load(event_id)
    assert found is not None
    return EventType.from_record(found)


async def occurrence_of(info: Info, occurrence_id: uuid.UUID) -> EventOccurrenceType | None:
    from schema.events.types import EventOccurrence as EventOccurrenceType

    found = await info.context.loader(OccurrenceByIdLoader).load(occurrence_id)
    if found is None:
        return None
    return EventOccurrenceType.from_record(OccurrenceRecord.from_model(found))
