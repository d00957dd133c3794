"""After-commit effects that ticketing records when what buyers see changes."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit


@dataclass(frozen=True, slots=True)
class InventoryChanged:
    """Availability of an event's date moved (orders, holds, expiries, refunds): live
    subscribers and availability caches react to it."""

    event_id: uuid.UUID
    occurrence_id: uuid.UUID | None


@dataclass(frozen=True, slots=True)
class EventChanged:
    """Something a public reader of the event sees changed (price, status, ticket types)."""

    event_id: uuid.UUID


def event_changed(session: AsyncSession, event_id: uuid.UUID) -> None:
    after_commit(session, EventChanged(event_id))


@dataclass(frozen=True, slots=True)
class OrderChanged:
    """An order's status or money changed (created, confirmed, cancelled, refunded):
    buyers watching `orderStatus` are told."""

    order_id: uuid.UUID
