"""Cache-aside for public event data, on the tagged cache (server.cache).

Two kinds of entry, both tagged `event:<id>` (and the bundle `organization:<id>` too):
the event bundle by id, and the slug -> id mapping. Every service that changes what a
reader of the event sees calls `record_event_change` inside its transaction; the tagged
cache bumps the tags around the commit, so no reader gets the old bundle once the change
has committed. A Redis failure degrades to reading the database, never to an error."""

from __future__ import annotations

import uuid

import structlog
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from server.cache import InvalidateTags, TaggedCache
from server.db import after_commit
from server.events.reads import event_id_by_slug, load_bundle
from server.events.records import EventBundle

log = structlog.get_logger("eventapi.events.cache")

BUNDLE_CACHE = "event_bundle"
SLUG_CACHE = "event_slug"
BUNDLE_TTL = 3600.0
SLUG_TTL = 86400.0


def event_tag(event_id: uuid.UUID) -> str:
    return f"event:{event_id}"


def organization_tag(organization_id: uuid.UUID) -> str:
    return f"organization:{organization_id}"


def record_event_change(session: AsyncSession, event_id: uuid.UUID) -> None:
    """The transaction changes what readers of this event see: cached copies must go."""
    after_commit(session, InvalidateTags({event_tag(event_id)}))


async def event_bundle(
    session: AsyncSession, cache: TaggedCache | None, event_id: uuid.UUID
) -> EventBundle | None:
    """The event's bundle from the cache, else from the database (then stored)."""
    if cache is None:
        return await load_bundle(session, event_id)
    key = str(event_id)
    try:
        found = await cache.lookup(BUNDLE_CACHE, key)
    except RedisError:
        log.warning("event cache lookup failed", exc_info=True)
        return await load_bundle(session, event_id)
    if found.body is not None:
        cached = EventBundle.loads(found.body)
        if cached is not None:
            return cached
    bundle = await load_bundle(session, event_id)
    if bundle is not None:
        tags = [event_tag(event_id), organization_tag(bundle.event.organization_id)]
        try:
            await cache.store(
                BUNDLE_CACHE, key, bundle.dumps(), tags, since=found.since, ttl=BUNDLE_TTL
            )
        except RedisError:
            log.warning("event cache store failed", exc_info=True)
    return bundle


async def event_id_for_slug(
    session: AsyncSession, cache: TaggedCache | None, slug: str
) -> uuid.UUID | None:
    """Slugs never change, so a mapping stays right for the event's life; a miss is not
    cached (the slug may be taken a moment later)."""
    if cache is None:
        return await event_id_by_slug(session, slug)
    try:
        found = await cache.lookup(SLUG_CACHE, slug)
    except RedisError:
        log.warning("slug cache lookup failed", exc_info=True)
        return await event_id_by_slug(session, slug)
    if found.body is not None:
        return uuid.UUID(found.body.decode())
    event_id = await event_id_by_slug(session, slug)
    if event_id is not None:
        try:
            await cache.store(
                SLUG_CACHE,
                slug,
                str(event_id).encode(),
                [event_tag(event_id)],
                since=found.since,
                ttl=SLUG_TTL,
            )
        except RedisError:
            log.warning("slug cache store failed", exc_info=True)
    return event_id
