"""What ticketing and orders record when what buyers see changes. Recorded inside the
transaction; acted on around its commit (cache tags, live updates)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.cache import InvalidateTags
from server.db import after_commit
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
class OrderChanged:
    """An order's status or money changed (created, confirmed, cancelled, refunded):
    buyers watching `orderStatus` are told."""

    order_id: uuid.UUID


def event_changed(session: AsyncSession, event_id: uuid.UUID) -> None:
    """Something a public reader of the event sees changed (price, ticket types, status)."""
    record_event_change(session, event_id)
    after_commit(session, InvalidateTags({availability_tag(event_id)}))


def inventory_changed(
    session: AsyncSession, event_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> None:
    """Counts moved: cached availability goes, live subscribers hear of it."""
    after_commit(session, InvalidateTags({availability_tag(event_id)}))
    after_commit(session, InventoryChanged(event_id, occurrence_id))
