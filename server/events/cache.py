"""Cache-aside for public event data, on the tagged cache (server.cache).

One kind of entry: the event bundle, keyed by id or by slug, tagged `event:<id>` and
`organization:<id>`. Every service that changes what a
reader of the event sees calls `record_event_change` inside its transaction; the tagged
cache bumps the tags around the commit, so no reader gets the old bundle once the change
has committed. A Redis failure degrades to reading the database, never to an error."""

from __future__ import annotations

import uuid

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from server.cache import InvalidateTags, TaggedCache
from server.db import after_commit, replica_position
from server.events.reads import event_id_by_slug, load_bundle
from server.events.records import EventBundle

log = structlog.get_logger("eventapi.events.cache")

BUNDLE_CACHE = "event_bundle"
BUNDLE_TTL = 3600.0


def event_tag(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"


def organization_tag(organization_id: uuid.UUID) -> str:
    return f"organization:{organization_id}"


def record_event_change(session: AsyncSession, event_id: uuid.UUID) -> None:
    """The transaction changes what readers of this event see: cached copies must go."""
    after_commit(session, InvalidateTags({event_tag(event_id)}))


async def event_bundle(
    session: AsyncSession,
    cache: TaggedCache | None,
    *,
    event_id: uuid.UUID | None = None,
    slug: str | None = None,
) -> EventBundle | None:
    """The event's bundle, by id or by slug, from the cache in one lookup, else from the
    database (then stored). Slugs never change, so an entry keyed by slug is as right as
    one keyed by id; a miss is not cached (the slug may be taken a moment later)."""
    key = f"id:{event_id}" if event_id is not None else f"slug:{slug}"
    found = None
    if cache is not None:
        try:
            found = await cache.lookup(BUNDLE_CACHE, key)
        except RedisError:
            log.warning("event cache lookup failed", exc_info=True)
        if found is not None and found.body is not None:
            cached = EventBundle.loads(found.body)
            if cached is not None:
                return cached
    if event_id is None:
        event_id = await event_id_by_slug(session, slug or "")
        if event_id is None:
            return None
    bundle = await load_bundle(session, event_id)
    if bundle is not None and cache is not None and found is not None:
        tags = [event_tag(event_id), organization_tag(bundle.event.organization_id)]
        # Read from a replica: only changes it had replayed can be trusted to be in it.
        as_of = replica_position(session)
        since = found.since if as_of is None else min(found.since, as_of)
        try:
            await cache.store(BUNDLE_CACHE, key, bundle.dumps(), tags, since=since, ttl=BUNDLE_TTL)
        except RedisError:
            log.warning("event cache store failed", exc_info=True)
    return bundle
