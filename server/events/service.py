"""Events: creation (with explicit and recurring occurrences), edits, and the status
workflow (the transition table lives in `server.events.workflow`)."""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import Conflict, Validator
from server.events.access import event_for_write
from server.events.cache import record_event_change
from server.events.errors import EventClosed, EventNotOver, NotReadyToPublish
from server.events.models import Event, EventOccurrence, EventStatus
from server.events.occurrences import OccurrenceSpec, check_occurrences, planned_occurrences
from server.events.policies import UNCHANGED, PolicySpec, apply_policies, check_policies
from server.events.recurrence import Recurrence
from server.events.workflow import OPEN_STATUSES, transition
from server.ids import new_id
from server.organizations.access import Permission, authorize
from server.outbox.service import emit
from server.ticketing.inventory import create_inventory_for_occurrences
from server.ticketing.queries import ticket_type_count
from server.venues.errors import SeatmapNotFound, VenueNotFound
from server.venues.models import Seatmap, Venue

MAX_TITLE_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 20_000
MAX_REASON_LENGTH = 2_000
MAX_SLUG_BASE = 80
SLUG_ATTEMPTS = 5


def slugify_title(title: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:MAX_SLUG_BASE].strip("-") or "event"


@dataclass(frozen=True, slots=True)
class EventChanges:
    """An edit: None (or UNCHANGED for nullable fields) leaves a field as it is."""

    title: str | None = None
    description: Any = UNCHANGED  # str | None | UNCHANGED
    policies: PolicySpec | None = None
    add_occurrences: Sequence[OccurrenceSpec] = ()
    add_recurrence: Recurrence | None = None


def _check_text(checks: Validator, *, title: str | None, description: Any) -> None:
    if title is not None:
        checks.check(
            0 < len(title.strip()) <= MAX_TITLE_LENGTH,
            "title",
            "Enter a title (up to 200 characters).",
        )
    if isinstance(description, str):
        checks.check(
            len(description) <= MAX_DESCRIPTION_LENGTH,
            "description",
            f"The description is longer than {MAX_DESCRIPTION_LENGTH} characters.",
        )


async def _venue_and_seatmap(
    session: AsyncSession,
    organization_id: uuid.UUID,
    venue_id: uuid.UUID | None,
    seatmap_id: uuid.UUID | None,
) -> tuple[Venue | None, Seatmap | None]:
    seatmap = None
    if seatmap_id is not None:
        seatmap = await session.get(Seatmap, seatmap_id)
        if seatmap is None or seatmap.organization_id != organization_id:
            raise SeatmapNotFound(field="seatmapId")
        if venue_id is not None and seatmap.venue_id != venue_id:
            raise SeatmapNotFound("This seatmap belongs to another venue.", field="seatmapId")
        venue_id = seatmap.venue_id
    venue = None
    if venue_id is not None:
        venue = await session.get(Venue, venue_id)
        if venue is None or venue.organization_id != organization_id:
            raise VenueNotFound(field="venueId")
    return venue, seatmap


async def _insert_event(session: AsyncSession, values: dict[str, Any], base: str) -> Event:
    """Insert under a free slug: the next numbered one, or a random suffix when a
    concurrent insert took it first (the unique constraint decides, not the lookup)."""
    taken = set(
        await session.scalars(
            select(Event.slug).where((Event.slug == base) | Event.slug.like(f"{base}-%"))
        )
    )
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = f"{base}-{n}"
    for _ in range(SLUG_ATTEMPTS):
        event = Event(id=new_id(), slug=candidate, **values)
        try:
            async with session.begin_nested():
                session.add(event)
                await session.flush()
        except IntegrityError as error:
            if "uq_events_slug" not in str(error.orig):
                raise
            candidate = f"{base}-{new_id().hex[-6:]}"
            continue
        return event
    raise Conflict("Could not find a free slug for this title; try again.", field="title")


async def _add_occurrences(
    session: AsyncSession, event: Event, specs: Sequence[OccurrenceSpec]
) -> list[uuid.UUID]:
    """Insert occurrences and their inventory rows (event row already locked), then bring
    the event's first/last start, which listings sort and filter on, up to date."""
    if not specs:
        return []
    ids = [new_id() for _ in specs]
    rows = [
        {
            "id": occurrence_id,
            "event_id": event.id,
            "organization_id": event.organization_id,
            "starts_at": spec.starts_at,
            "ends_at": spec.ends_at,
            "capacity": spec.capacity,
        }
        for occurrence_id, spec in zip(ids, specs, strict=True)
    ]
    await session.execute(insert(EventOccurrence), rows)
    await create_inventory_for_occurrences(session, event_id=event.id, occurrence_ids=ids)
    first, last = (
        await session.execute(
            select(func.min(EventOccurrence.starts_at), func.max(EventOccurrence.starts_at)).where(
                EventOccurrence.event_id == event.id
            )
        )
    ).one()
    event.first_starts_at, event.last_starts_at = first, last
    await session.flush()
    return ids


async def create_event(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    title: str,
    description: str | None,
    venue_id: uuid.UUID | None,
    seatmap_id: uuid.UUID | None,
    occurrences: Sequence[OccurrenceSpec],
    recurrence: Recurrence | None,
    policies: PolicySpec | None,
    now: datetime,
) -> Event:
    await authorize(session, actor, organization_id, Permission.EVENTS_WRITE)
    checks = Validator()
    _check_text(checks, title=title, description=description)
    if policies is not None:
        check_policies(checks, policies)
    check_occurrences(checks, occurrences, field="occurrences")
    checks.raise_if_any()
    venue, seatmap = await _venue_and_seatmap(session, organization_id, venue_id, seatmap_id)
    timezone = venue.timezone if venue is not None else "UTC"
    planned = await planned_occurrences(
        occurrences,
        recurrence,
        timezone=timezone,
        existing=(),
        field="occurrences",
        recurrence_field="recurrence",
    )

    values: dict[str, Any] = {
        "organization_id": organization_id,
        "venue_id": venue.id if venue else None,
        "seatmap_id": seatmap.id if seatmap else None,
        "seatmap_name": seatmap.name if seatmap else None,
        "title": title.strip(),
        "description": description or None,
        "status": EventStatus.DRAFT,
        "timezone": timezone,
        "transfer_allowed": True,
        "guest_checkout": True,
    }
    # The insert fires `events_snapshot_seatmap`, which copies the seatmap's seats.
    event = await _insert_event(session, values, slugify_title(title))
    if policies is not None:
        apply_policies(event, policies)
    await _add_occurrences(session, event, planned)
    record_event_change(session, event.id)
    return event


async def update_event(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: uuid.UUID,
    changes: EventChanges,
    now: datetime,
) -> Event:
    event, _ = await event_for_write(session, actor, event_id)
    if event.status not in OPEN_STATUSES:
        raise EventClosed()
    checks = Validator()
    _check_text(checks, title=changes.title, description=changes.description)
    if changes.policies is not None:
        check_policies(checks, changes.policies)
    check_occurrences(checks, changes.add_occurrences, field="addOccurrences")
    checks.raise_if_any()
    existing = (
        await session.scalars(
            select(EventOccurrence.starts_at).where(EventOccurrence.event_id == event.id)
        )
    ).all()
    planned = await planned_occurrences(
        changes.add_occurrences,
        changes.add_recurrence,
        timezone=event.timezone,
        existing=existing,
        field="addOccurrences",
        recurrence_field="addRecurrence",
    )
    if changes.title is not None:
        event.title = changes.title.strip()
    if changes.description is not UNCHANGED:
        event.description = changes.description or None
    if changes.policies is not None:
        apply_policies(event, changes.policies)
    await _add_occurrences(session, event, planned)
    await session.flush()
    record_event_change(session, event.id)
    return event


def _outbox_payload(event: Event, **extra: Any) -> dict[str, Any]:
    """The data of event.* outbox events (and so of integrators' webhooks): camelCase keys,
    like every other event type."""
    return {
        "eventId": str(event.id),
        "slug": event.slug,
        "title": event.title,
        "organizationId": str(event.organization_id),
        **extra,
    }


async def publish_event(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, now: datetime
) -> Event:
    event, _ = await event_for_write(session, actor, event_id)
    if event.status is EventStatus.DRAFT:
        occurrences = await session.scalar(
            select(func.count())
            .select_from(EventOccurrence)
            .where(EventOccurrence.event_id == event.id)
        )
        if not occurrences or not await ticket_type_count(session, event_id=event.id):
            raise NotReadyToPublish()
    transition(event, EventStatus.PUBLISHED, now=now)
    await session.flush()
    await emit(
        session,
        "event.published",
        organization_id=event.organization_id,
        payload=_outbox_payload(event),
    )
    record_event_change(session, event.id)
    return event


async def cancel_event(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, reason: str | None, now: datetime
) -> Event:
    """Cancel the event. Its orders are refunded or voided by commerce, which consumes the
    `event.cancelled` outbox event; nothing here touches orders."""
    clean_reason = reason.strip() if reason else None
    event, _ = await event_for_write(session, actor, event_id)
    checks = Validator()
    checks.check(
        clean_reason is None or len(clean_reason) <= MAX_REASON_LENGTH,
        "reason",
        f"The reason is longer than {MAX_REASON_LENGTH} characters.",
    )
    checks.raise_if_any()
    transition(event, EventStatus.CANCELLED, now=now)
    event.cancel_reason = clean_reason or None
    await session.flush()
    await emit(
        session,
        "event.cancelled",
        organization_id=event.organization_id,
        payload=_outbox_payload(event, reason=event.cancel_reason),
    )
    record_event_change(session, event.id)
    return event


async def complete_event(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, now: datetime
) -> Event:
    """Completed means the event has taken place: every date has begun."""
    event, _ = await event_for_write(session, actor, event_id)
    if event.status is EventStatus.PUBLISHED and (
        event.last_starts_at is None or event.last_starts_at > now
    ):
        last = event.last_starts_at.isoformat() if event.last_starts_at else "an unset time"
        raise EventNotOver(last)
    transition(event, EventStatus.COMPLETED, now=now)
    await session.flush()
    record_event_change(session, event.id)
    return event
