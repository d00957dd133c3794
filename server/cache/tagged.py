"""A Redis cache whose entries carry tags (`event:<id>`, ...) and never outlive a committed
change to anything they were tagged with.

Every tag has a version: the sequence number of its last bump. An entry remembers the
version of each of its tags when it was computed, and is a miss as soon as any differs.
A writer bumps its tags twice: just before its transaction commits (marking them as
changing) and again once it has committed or rolled back (removing the mark). A reader
that misses notes the global sequence number before it reads the database, and its
result is stored only if, at the moment of storing, none of its tags is marked and none
was bumped after that number. docs/caching.md walks through why that leaves no moment,
after a commit, at which an entry computed from older data can be served.

Redis must not evict the version keys (`noeviction` or a `volatile-*` policy: every key
here except the sequence counter has a TTL, and the versions outlive the entries)."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson
import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from server import metrics
from server.app_state import AppState
from server.cache import scripts

log = structlog.get_logger("eventapi.cache")

T = TypeVar("T")

DEFAULT_TTL = 3600.0
MAX_TTL = 86400.0
# Tag versions must outlive every entry that may hold them (see module docstring).
VERSION_TTL_MS = int(2 * MAX_TTL * 1000)
# How long a writer's mark lasts if the process dies between its two bumps. The mark is
# set just before COMMIT and removed right after, so this only bounds a crash's effect.
MARK_TTL_MS = 60_000
MAX_TAGS = 500


@dataclass(frozen=True, slots=True)
class Lookup:
    """A lookup's answer: the cached body on a hit; on a miss the sequence number to pass
    to `store` once the value has been computed."""

    body: bytes | None
    stored_at_ms: int = 0
    since: int = 0

    @property
    def hit(self) -> bool:
        return self.body is not None

    @classmethod
    def from_reply(cls, reply: Sequence[Any]) -> Lookup:
        """The answer of the `lookup` Lua function (server.cache.scripts)."""
        if int(reply[0]) == 1:
            return cls(bytes(reply[1]), stored_at_ms=int(reply[2]))
        return cls(None, since=int(reply[1]))


class TaggedCache:
    def __init__(self, redis: Redis, *, prefix: str = "tc") -> None:
        self.redis = redis
        self.prefix = prefix
        self._seq_key = f"{prefix}:seq"
        self._version_prefix = f"{prefix}:v:"
        self._mark_prefix = f"{prefix}:m:"
        self._lookup = redis.register_script(scripts.LOOKUP)
        self._store = redis.register_script(scripts.STORE)
        self._bump = redis.register_script(scripts.BUMP)

    def entry_key(self, name: str, key: str) -> str:
        digest = hashlib.blake2b(key.encode(), digest_size=16).hexdigest()
        return f"{self.prefix}:e:{name}:{digest}"

    async def lookup(self, name: str, key: str) -> Lookup:
        """One round trip: a valid entry, or the sequence number a miss starts from."""
        found = Lookup.from_reply(
            await self._lookup(keys=self.lookup_keys(name, key), args=[self._version_prefix])
        )
        self.count(name, found)
        return found

    def lookup_keys(self, name: str, key: str) -> list[str]:
        """The keys the `lookup` Lua function reads, for scripts that call it themselves."""
        return [self.entry_key(name, key), self._seq_key]

    @property
    def version_prefix(self) -> str:
        return self._version_prefix

    def count(self, name: str, found: Lookup) -> None:
        metrics.cache_requests.labels(name, "hit" if found.hit else "miss").inc()

    async def store(
        self,
        name: str,
        key: str,
        body: bytes,
        tags: Iterable[str],
        *,
        since: int,
        ttl: float = DEFAULT_TTL,
    ) -> bool:
        """Store `body` unless one of its tags changed (or is changing) after `since`.
        Returns whether it was stored; a refusal is normal under concurrent writes."""
        tag_list = sorted(set(tags))
        if not tag_list or len(tag_list) > MAX_TAGS:
            return False
        ttl_ms = max(1, int(min(ttl, MAX_TTL) * 1000))
        stored = await self._store(
            keys=[self.entry_key(name, key)],
            args=[since, ttl_ms, body, self._version_prefix, self._mark_prefix, *tag_list],
        )
        return int(stored) == 1

    async def get_or_compute(
        self,
        name: str,
        key: str,
        tags: Iterable[str],
        compute: Callable[[], Awaitable[T]],
        *,
        ttl: float = DEFAULT_TTL,
        dumps: Callable[[T], bytes] = orjson.dumps,
        loads: Callable[[bytes], T] = orjson.loads,
    ) -> T:
        """Cache-aside: the cached value, or `compute()`'s (stored for the next caller).

        `tags` name everything the value was read from; a change recorded with
        `after_commit(session, InvalidateTags(...))` to any of them invalidates it. If Redis
        fails, the value is computed and not stored."""
        try:
            found = await self.lookup(name, key)
        except RedisError:
            log.warning("cache lookup failed; computing", cache=name, exc_info=True)
            return await compute()
        if found.body is not None:
            return loads(found.body)
        value = await compute()
        try:
            await self.store(name, key, dumps(value), tags, since=found.since, ttl=ttl)
        except RedisError:
            log.warning("cache store failed", cache=name, exc_info=True)
        return value

    async def mark_changing(self, tags: Iterable[str], token: str) -> None:
        """Before a commit: bump the tags and mark them as being changed by `token`, so
        no entry computed from the data as it is now can be stored until
        `mark_changed` runs."""
        await self._bump_tags(tags, token, "mark")

    async def mark_changed(self, tags: Iterable[str], token: str) -> None:
        """After the commit (or a rollback): bump the tags again and remove the mark."""
        await self._bump_tags(tags, token, "release")

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Bump tags outside any transaction (the data changed somewhere else)."""
        await self._bump_tags(tags, uuid.uuid4().hex, "bump")

    async def _bump_tags(self, tags: Iterable[str], token: str, mode: str) -> None:
        tag_list = sorted(set(tags))
        if not tag_list:
            return
        await self._bump(
            keys=[self._seq_key],
            args=[
                token,
                MARK_TTL_MS,
                VERSION_TTL_MS,
                self._version_prefix,
                self._mark_prefix,
                mode,
                *tag_list,
            ],
        )


def tagged_cache(state: AppState) -> TaggedCache:
    """The app's cache (one per AppState, sharing its Redis client)."""
    return state.cache
