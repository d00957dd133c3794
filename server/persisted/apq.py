"""The store behind automatic persisted queries: document text by SHA-256, in a bounded
in-process LRU in front of Redis (shared by every app instance, entries expire).

Documents are immutable under their hash, so the local copy never needs invalidating;
callers store only documents whose hash they verified and which validated."""

from __future__ import annotations

from collections import OrderedDict

from redis.asyncio import Redis

from server import metrics

LOCAL_SIZE = 2000
TTL = 7 * 86400  # seconds; clients re-register a document that expired
KEY_PREFIX = "apq:"


class PersistedQueryStore:
    def __init__(self, *, local_size: int = LOCAL_SIZE, ttl: int = TTL) -> None:
        self.local_size = local_size
        self.ttl = ttl
        self._local: OrderedDict[str, str] = OrderedDict()

    def local(self, digest: str) -> str | None:
        """The document if this process remembers it (no I/O, nothing counted)."""
        return self._local.get(digest)

    async def get(self, redis: Redis, digest: str) -> str | None:
        query = self._local.get(digest)
        if query is not None:
            self._local.move_to_end(digest)
            metrics.cache_requests.labels("apq", "hit").inc()
            return query
        raw = await redis.get(KEY_PREFIX + digest)
        if raw is None:
            metrics.cache_requests.labels("apq", "miss").inc()
            return None
        metrics.cache_requests.labels("apq", "hit").inc()
        query = raw.decode() if isinstance(raw, bytes) else str(raw)
        self._remember(digest, query)
        return query

    async def put(self, redis: Redis, digest: str, query: str) -> None:
        # Always written through: clients send the query only after a miss, and the Redis
        # copy may have expired while this process still remembers it.
        await redis.set(KEY_PREFIX + digest, query.encode(), ex=self.ttl)
        self._remember(digest, query)

    def _remember(self, digest: str, query: str) -> None:
        self._local[digest] = query
        self._local.move_to_end(digest)
        if len(self._local) > self.local_size:
            self._local.popitem(last=False)
