from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

import strawberry

from schema.common import PageInfo, decode_cursor, encode_cursor, require_id
from schema.context import Info
from schema.errors import ClientError, run_query, run_query_or_none
from schema.events.public_cache import tag_event
from schema.events.types import Event, EventConnection, EventEdge
from server.cache import tagged_cache
from server.events.models import EventStatus as EventStatusModel
from server.events.queries import (
    EventPage,
    get_event,
    list_organization_events,
    list_public_events,
)
from server.events.records import EventRecord

DEFAULT_PAGE = 20


def _public_cursor(record: EventRecord) -> str:
    assert record.first_starts_at is not None  # published events have dates
    return encode_cursor(record.first_starts_at.isoformat(), record.id)


def _decode_public_cursor(after: str | None) -> tuple[datetime, uuid.UUID] | None:
    if after is None:
        return None
    starts, event_id = decode_cursor(after, 2)
    try:
        return datetime.fromisoformat(starts), uuid.UUID(event_id)
    except ValueError:
        raise ClientError("`after` is not a valid cursor.") from None


def _connection(page: EventPage, cursor_of: Callable[[EventRecord], str]) -> EventConnection:
    edges = [EventEdge(node=Event.from_record(r), cursor=cursor_of(r)) for r in page.items]
    return EventConnection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
        ),
        total_count=page.total,
    )


async def organization_events(
    info: Info,
    organization_id: uuid.UUID,
    status: EventStatusModel | None,
    first: int | None,
    after: str | None,
) -> EventConnection:
    """`Organization.events`: every status for members, the public ones for others.
    A listing has no tag that every change to it bumps: never shared."""
    info.context.cache_tags.no_cache()
    after_id = None
    if after is not None:
        try:
            after_id = uuid.UUID(decode_cursor(after, 1)[0])
        except ValueError:
            raise ClientError("`after` is not a valid cursor.") from None
    page = await run_query(
        info,
        lambda s: list_organization_events(
            s,
            actor=info.context.actor,
            organization_id=organization_id,
            status=status,
            first=DEFAULT_PAGE if first is None else first,
            after=after_id,
        ),
        replica=True,
    )
    return _connection(page, lambda r: encode_cursor(r.id))


@strawberry.type
class EventQueries:
    @strawberry.field(
        description="An event by id or by slug. Drafts are visible to the organization's "
        "members only; anyone else gets null."
    )
    async def event(
        self, info: Info, id: strawberry.ID | None = None, slug: str | None = None
    ) -> Event | None:
        if (id is None) == (slug is None):
            raise ClientError("Give either `id` or `slug`.")
        event_id = require_id(id) if id is not None else None
        cache = tagged_cache(info.context.state)
        bundle = await run_query_or_none(
            info,
            lambda s: get_event(
                s, actor=info.context.actor, cache=cache, event_id=event_id, slug=slug
            ),
            replica=True,
        )
        if bundle is None:
            return None
        tag_event(info, bundle.event.id, bundle.event.organization_id)
        return Event.from_bundle(bundle)

    @strawberry.field(
        description="Published events in date order. `search` matches part of the title; "
        "`startsAfter` keeps events with a date at or after it; `first` is 1 to 100."
    )
    async def events(
        self,
        info: Info,
        search: str | None = None,
        starts_after: datetime | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> EventConnection:
        cursor = _decode_public_cursor(after)
        page = await run_query(
            info,
            lambda s: list_public_events(
                s,
                search=search,
                starts_after=starts_after,
                first=DEFAULT_PAGE if first is None else first,
                after=cursor,
            ),
            replica=True,
        )
        return _connection(page, _public_cursor)
