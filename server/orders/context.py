"""Everything createOrder needs to know about the event, the date and the ticket types, in
one statement (the hot path of a flash sale reads it for every buyer)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import EventStatus
from server.ticketing.models import Visibility

_QUERY = text(
    """
    SELECT e.organization_id, e.status, e.guest_checkout, e.published_at,
           o.id AS occurrence_id, o.ends_at AS occurrence_ends_at, o.capacity AS capacity,
           t.id AS type_id, t.name, t.price_minor, t.currency, t.min_per_order, t.max_per_order,
           t.max_per_buyer, t.sales_start, t.sales_end, t.visibility, t.sections,
           i.id AS inventory_id,
           EXISTS (SELECT 1 FROM price_tiers AS p WHERE p.ticket_type_id = t.id) AS has_tiers
    FROM events AS e
    LEFT JOIN event_occurrences AS o
      ON o.event_id = e.id AND (CAST(:occurrence AS uuid) IS NULL OR o.id = :occurrence)
    LEFT JOIN ticket_types AS t ON t.event_id = e.id AND t.id = ANY(CAST(:types AS uuid[]))
    LEFT JOIN inventory AS i ON i.ticket_type_id = t.id AND i.occurrence_id = o.id
    WHERE e.id = :event
    """
)


@dataclass(frozen=True, slots=True)
class TypeOnSale:
    """A ticket type as an order sees it, with its inventory row for the chosen date."""

    id: uuid.UUID
    name: str
    price_minor: int
    currency: str
    min_per_order: int
    max_per_order: int
    max_per_buyer: int | None
    sales_start: datetime | None
    sales_end: datetime | None
    visibility: Visibility
    sections: list[str]
    inventory_id: uuid.UUID
    has_tiers: bool


@dataclass(frozen=True, slots=True)
class SaleContext:
    event_id: uuid.UUID
    organization_id: uuid.UUID
    status: EventStatus
    published_at: datetime | None
    guest_checkout: bool
    occurrence_ids: frozenset[uuid.UUID]
    occurrence_ends_at: datetime | None
    capacity: int | None = None
    types: dict[uuid.UUID, TypeOnSale] = field(default_factory=dict)


async def sale_context(
    session: AsyncSession,
    *,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    type_ids: Sequence[uuid.UUID],
) -> SaleContext | None:
    """None when the event does not exist. `occurrence_ids` holds every date that matched
    (several when no date was named and the event has more than one)."""
    rows = (
        await session.execute(
            _QUERY, {"event": event_id, "occurrence": occurrence_id, "types": list(type_ids)}
        )
    ).all()
    if not rows:
        return None
    first = rows[0]
    occurrences = frozenset(r.occurrence_id for r in rows if r.occurrence_id is not None)
    types = {}
    if len(occurrences) == 1:
        for r in rows:
            if r.type_id is not None and r.inventory_id is not None:
                types[r.type_id] = TypeOnSale(
                    id=r.type_id,
                    name=r.name,
                    price_minor=r.price_minor,
                    currency=r.currency,
                    min_per_order=r.min_per_order,
                    max_per_order=r.max_per_order,
                    max_per_buyer=r.max_per_buyer,
                    sales_start=r.sales_start,
                    sales_end=r.sales_end,
                    visibility=Visibility(r.visibility),
                    sections=list(r.sections or []),
                    inventory_id=r.inventory_id,
                    has_tiers=bool(r.has_tiers),
                )
    return SaleContext(
        event_id=event_id,
        organization_id=first.organization_id,
        status=EventStatus(first.status),
        published_at=first.published_at,
        guest_checkout=bool(first.guest_checkout),
        occurrence_ids=occurrences,
        occurrence_ends_at=first.occurrence_ends_at if len(occurrences) == 1 else None,
        capacity=first.capacity if len(occurrences) == 1 else None,
        types=types,
    )
