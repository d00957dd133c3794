"""Batch reads behind the catalog's DataLoaders and the event bundle: one `= ANY(:ids)`
query per call, whatever the number of ids. No access checks here: callers reach these
only for events a service has already let the viewer see."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ARRAY, Uuid, any_, func, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.events.models import Event, EventAsset, EventOccurrence, EventSeat
from server.events.records import (
    AssetRecord,
    EventBundle,
    EventRecord,
    OccurrenceRecord,
    OrganizationRecord,
    VenueRecord,
)
from server.organizations.models import Organization
from server.venues.models import Venue


def any_of(column: Any, ids: Sequence[uuid.UUID]) -> Any:
    """`column = ANY(:ids)`: one statement text for any number of ids."""
    return column == any_(literal(list(ids), ARRAY(Uuid)))


async def events_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, EventRecord]:
    rows = await session.scalars(select(Event).where(any_of(Event.id, ids)))
    return {e.id: EventRecord.from_model(e) for e in rows}


async def venues_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, VenueRecord]:
    rows = await session.scalars(select(Venue).where(any_of(Venue.id, ids)))
    return {v.id: VenueRecord.from_model(v) for v in rows}


async def organizations_by_ids(
    session: AsyncSession, ids: Sequence[uuid.UUID], *, include_deleted: bool = False
) -> dict[uuid.UUID, OrganizationRecord]:
    query = select(Organization).where(any_of(Organization.id, ids))
    if not include_deleted:
        query = query.where(Organization.deleted_at.is_(None))
    rows = await session.scalars(query)
    return {o.id: OrganizationRecord.from_model(o) for o in rows}


async def occurrences_by_event_ids(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[OccurrenceRecord]]:
    rows = await session.scalars(
        select(EventOccurrence)
        .where(any_of(EventOccurrence.event_id, event_ids))
        .order_by(EventOccurrence.event_id, EventOccurrence.starts_at, EventOccurrence.id)
    )
    result: dict[uuid.UUID, list[OccurrenceRecord]] = {i: [] for i in event_ids}
    for o in rows:
        result[o.event_id].append(OccurrenceRecord.from_model(o))
    return result


async def assets_by_event_ids(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[AssetRecord]]:
    rows = await session.scalars(
        select(EventAsset)
        .where(any_of(EventAsset.event_id, event_ids))
        .order_by(EventAsset.event_id, EventAsset.id)
    )
    result: dict[uuid.UUID, list[AssetRecord]] = {i: [] for i in event_ids}
    for a in rows:
        result[a.event_id].append(AssetRecord.from_model(a))
    return result


async def event_seats_by_event_ids(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    """Snapshot seats as light rows (id, event_id, section, row, number): a stadium has
    tens of thousands, too many to build ORM objects for."""
    rows = await session.execute(
        select(EventSeat.id, EventSeat.event_id, EventSeat.section, EventSeat.row, EventSeat.number)
        .where(any_of(EventSeat.event_id, event_ids))
        .order_by(EventSeat.event_id, EventSeat.id)
    )
    result: dict[uuid.UUID, list[Any]] = {i: [] for i in event_ids}
    for row in rows:
        result[row.event_id].append(row)
    return result


async def load_bundle(session: AsyncSession, event_id: uuid.UUID) -> EventBundle | None:
    """The event's bundle straight from the database (a cache miss), or None when it does
    not exist or its organization was deleted."""
    event = (await events_by_ids(session, [event_id])).get(event_id)
    if event is None:
        return None
    organization = (await organizations_by_ids(session, [event.organization_id])).get(
        event.organization_id
    )
    if organization is None:
        return None
    venue = None
    if event.venue_id is not None:
        venue = (await venues_by_ids(session, [event.venue_id])).get(event.venue_id)
    occurrences = (await occurrences_by_event_ids(session, [event_id]))[event_id]
    assets = (await assets_by_event_ids(session, [event_id]))[event_id]
    return EventBundle(event, organization, venue, tuple(occurrences), tuple(assets))


async def event_id_by_slug(session: AsyncSession, slug: str) -> uuid.UUID | None:
    return await session.scalar(select(Event.id).where(Event.slug == slug))


async def event_seat_counts(
    session: AsyncSession, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, int]:
    rows = await session.execute(
        select(EventSeat.event_id, func.count())
        .where(any_of(EventSeat.event_id, event_ids))
        .group_by(EventSeat.event_id)
    )
    return {event_id: int(count) for event_id, count in rows}


# The next moment an event's availability changes without a commit: a hold or a pending
# order running out (reads stop counting it then, before the expiry job releases it).
NEXT_EXPIRY = text(
    """
    SELECT e.id AS event_id, LEAST(
      (SELECT min(h.expires_at) FROM holds h JOIN inventory i ON i.id = h.inventory_id
       WHERE i.event_id = e.id AND h.released_at IS NULL AND h.expires_at > :now),
      (SELECT min(o.expires_at) FROM orders o
       WHERE o.event_id = e.id AND o.status = 'pending' AND o.expires_at > :now)
    ) AS next_expiry
    FROM unnest(CAST(:ids AS uuid[])) AS e(id)
    """
)


async def next_expiries(
    session: AsyncSession, event_ids: Sequence[uuid.UUID], now: datetime
) -> dict[uuid.UUID, datetime | None]:
    rows = await session.execute(NEXT_EXPIRY, {"ids": list(event_ids), "now": now})
    return {row.event_id: row.next_expiry for row in rows}
