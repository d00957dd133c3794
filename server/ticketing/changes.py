"""What ticketing and orders record when what buyers see changes. Recorded inside the
transaction; acted on around its commit (cache tags, live updates)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.cache import InvalidateTags
from server.db import after_commit, before_locks
from server.events.cache import record_event_change


def availability_tag(event_id: uuid.UUID) -> str:
    """Cached answers that include an event's availability carry this tag."""
    return f"availability:{event_id}"


@dataclass(frozen=True, slots=True)
class InventoryChanged:
    """Availability of an event's date moved (orders, holds, expiries, refunds): live
    subscribers are told."""

    event_id: uuid.UUID
    occurrence_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class UnitsFreed:
    """Units of a ticket type went back on sale for a date (a release, an expiry, a refund,
    a raised quantity): whatever refuses buyers as sold out must look again."""

    event_id: uuid.UUID
    occurrence_id: uuid.UUID
    ticket_type_id: uuid.UUID


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """An order's status or money changed (created, confirmed, cancelled, refunded):
    buyers watching `orderStatus` are told."""

    order_id: uuid.UUID


def event_changed(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Something a public reader of the event sees changed (price, ticket types, status)."""
    record_event_change(session, event_id)
    after_commit(session, InvalidateTags({availability_tag(event_id)}))


async def availability_changing(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Mark the event's cached availability as changing now, before the transaction locks
    a contended inventory row, so the cache's Redis round trip is not spent holding it.
    Pair with `inventory_changed(..., marked=True)`."""
    await before_locks(session, InvalidateTags({availability_tag(event_id)}, early=True))


def inventory_changed(
    session: AsyncSession,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    *,
    marked: bool = False,
) -> None:
    """Counts moved: cached availability goes, live subscribers hear of it."""
    if not marked:
        after_commit(session, InvalidateTags({availability_tag(event_id)}))
    after_commit(session, InventoryChanged(event_id, occurrence_id))


def units_freed(
    session: AsyncSession, event_id: uuid.UUID, occurrence_id: uuid.UUID, ticket_type_id: uuid.UUID
) -> None:
    after_commit(session, UnitsFreed(event_id, occurrence_id, ticket_type_id))
