"""Reading events: one event by id or slug (through the cache), the public listing and an
organization's own listing. Keyset pagination throughout: a page costs the same however
deep it is."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.cache import TaggedCache
from server.errors import ValidationError
from server.events.access import check_readable
from server.events.cache import event_bundle
from server.events.errors import EventNotFound
from server.events.models import Event, EventStatus
from server.events.records import EventBundle, EventRecord
from server.events.workflow import public_filter
from server.organizations.access import Permission, readable_organization_ids
from server.organizations.models import Organization

MAX_PAGE = 100
MAX_SEARCH_LENGTH = 100


@dataclass(frozen=True, slots=True)
class EventPage:
    items: list[EventRecord]
    total: int
    has_next: bool


def check_page_size(first: int) -> None:
    if not 1 <= first <= MAX_PAGE:
        raise ValidationError(f"`first` must be between 1 and {MAX_PAGE}.", field="first")


async def get_event(
    session: AsyncSession,
    *,
    actor: Actor,
    cache: TaggedCache | None,
    event_id: uuid.UUID | None = None,
    slug: str | None = None,
) -> EventBundle:
    """The event by id or slug, if the actor may see it (drafts: members only)."""
    if event_id is None and slug is None:
        raise EventNotFound()
    clean_slug = slug.strip().lower()[:96] if slug is not None else None
    bundle = await event_bundle(session, cache, event_id=event_id, slug=clean_slug)
    if bundle is None:
        raise EventNotFound()
    await check_readable(
        session,
        actor,
        organization_id=bundle.event.organization_id,
        status=bundle.event.status,
        published_at=bundle.event.published_at,
    )
    return bundle


def _search_filter(search: str | None) -> ColumnElement[bool] | None:
    if search is None or not search.strip():
        return None
    term = search.strip().lower()
    if len(term) > MAX_SEARCH_LENGTH:
        raise ValidationError(
            f"Search terms are at most {MAX_SEARCH_LENGTH} characters.", field="search"
        )
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    # Served by the trigram index on lower(title) (ix_events_title_trgm).
    return func.lower(Event.title).like(f"%{escaped}%", escape="\\")


async def _page(
    session: AsyncSession, query: Select[Event], count_query: Select[int], first: int
) -> EventPage:
    total = int(await session.scalar(count_query) or 0)
    rows = list(await session.scalars(query.limit(first + 1)))
    return EventPage(
        items=[EventRecord.from_model(e) for e in rows[:first]],
        total=total,
        has_next=len(rows) > first,
    )


async def list_public_events(
    session: AsyncSession,
    *,
    search: str | None,
    starts_after: datetime | None,
    first: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> EventPage:
    """Published events in date order. `starts_after` keeps events with an occurrence at
    or after that moment (a weekly show that began last month is still listed)."""
    check_page_size(first)
    filters: list[ColumnElement[bool]] = [
        Event.status == EventStatus.PUBLISHED,
        # Events of a deleted organization disappear with it.
        Event.organization_id.in_(select(Organization.id).where(Organization.deleted_at.is_(None))),
    ]
    text_filter = _search_filter(search)
    if text_filter is not None:
        filters.append(text_filter)
    if starts_after is not None:
        filters.append(Event.last_starts_at >= starts_after)
    count_query = select(func.count()).select_from(Event).where(*filters)
    query = select(Event).where(*filters)
    if after is not None:
        query = query.where(tuple_(Event.first_starts_at, Event.id) > tuple_(*after))
    query = query.order_by(Event.first_starts_at, Event.id)
    return await _page(session, query, count_query, first)


async def list_organization_events(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    status: EventStatus | None,
    first: int,
    after: uuid.UUID | None,
) -> EventPage:
    """Newest first. Members (and keys with events:read) see every status; anyone else
    sees what is public anyway."""
    check_page_size(first)
    readable = await readable_organization_ids(session, actor, Permission.EVENTS_READ)
    filters: list[ColumnElement[bool]] = [
        Event.organization_id == organization_id,
        # A deleted organization lists nothing (it is still reachable from a buyer's orders).
        exists().where(Organization.id == organization_id, Organization.deleted_at.is_(None)),
    ]
    if organization_id not in readable:
        filters.append(public_filter())
    if status is not None:
        filters.append(Event.status == status)
    count_query = select(func.count()).select_from(Event).where(*filters)
    query = select(Event).where(and_(*filters))
    if after is not None:
        query = query.where(Event.id < after)
    query = query.order_by(Event.id.desc())
    return await _page(session, query, count_query, first)
