"""Whole responses to anonymous queries, shared between anonymous callers.

Keyed by (document hash, operation name, variables). Only anonymous callers read or
fill it, only queries, and only responses without errors whose every root field opted
in through `info.context.cache_tags` (see `schema.persisted.tags`). Entries live in the
tagged cache, so a committed change to anything a response was tagged with makes it a
miss from that moment on (docs/caching.md)."""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from graphql import (
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)
from redis.exceptions import RedisError

from schema.persisted.tags import CacheTags
from server.app_state import AppState
from server.auth.actor import Actor
from server.cache import tagged_cache
from server.cache.tagged import Lookup
from server.gate import CacheProbe

log = structlog.get_logger("eventapi.response_cache")

CACHE_NAME = "graphql-response"
TTL = 3600.0  # invalidation is exact; the TTL only bounds memory
MIN_TTL = 1.0  # a response about to expire is not worth storing
# Requests whose last answer could not be shared skip the lookup for a while (a listing
# that never opts in would otherwise pay a Redis round trip for nothing every time).
UNSHAREABLE_MEMORY = 5000
UNSHAREABLE_SECONDS = 30.0


@dataclass(slots=True)
class Candidate:
    key: str
    since: int = 0  # the cache's sequence number when the lookup missed
    unshareable: bool = False  # its last answer could not be shared: skip the cache


@dataclass(frozen=True, slots=True)
class CachedResponse:
    body: bytes
    age: int  # seconds since it was computed


class PublicResponseCache:
    def __init__(self, ttl: float = TTL) -> None:
        self.ttl = ttl
        self._unshareable: OrderedDict[str, float] = OrderedDict()  # key -> until (monotonic)

    def candidate(
        self,
        actor: Actor,
        operation_type: OperationType | None,
        query: str,
        operation_name: str | None,
        variables: dict[str, Any] | None,
        has_files: bool,
    ) -> Candidate | None:
        if not actor.is_anonymous or operation_type is not OperationType.QUERY or has_files:
            return None
        try:
            encoded = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        except TypeError:
            return None
        digest = hashlib.sha256(query.encode()).hexdigest()
        key = f"{digest}\x00{operation_name or ''}\x00{encoded.decode()}"
        until = self._unshareable.get(key)
        if until is not None:
            if until > time.monotonic():
                return Candidate(key, unshareable=True)
            del self._unshareable[key]
        return Candidate(key)

    def probe(self, candidate: Candidate) -> CacheProbe | None:
        """What the request gate looks up for this candidate in its round trip."""
        return None if candidate.unshareable else CacheProbe(CACHE_NAME, candidate.key)

    def answer(self, candidate: Candidate, found: Lookup) -> CachedResponse | None:
        """The cached response, or None (a miss: `candidate` remembers where it started)."""
        if found.body is None:
            candidate.since = found.since
            return None
        age = max(0, int(time.time() - found.stored_at_ms / 1000))
        return CachedResponse(found.body, age)

    async def lookup(self, state: AppState, candidate: Candidate) -> CachedResponse | None:
        if candidate.unshareable:
            return None
        try:
            found = await tagged_cache(state).lookup(CACHE_NAME, candidate.key)
        except RedisError:
            log.warning("response cache lookup failed", exc_info=True)
            return None
        return self.answer(candidate, found)

    async def remember(
        self,
        state: AppState,
        candidate: Candidate,
        document: DocumentNode,
        operation_name: str | None,
        result: ExecutionResult,
        tags: CacheTags,
        body: bytes,
    ) -> bool:
        """Store the response if it may be shared; whether it was stored."""
        if candidate.unshareable or result.errors or not isinstance(result.data, dict):
            return False
        root_keys = set(result.data) - typename_keys(document, operation_name)
        if not tags.allow(root_keys):
            self._remember_unshareable(candidate.key)
            return False
        ttl = self.ttl
        if tags.deadline is not None:
            ttl = min(ttl, tags.deadline - time.time())
            if ttl < MIN_TTL:
                return False
        try:
            return await tagged_cache(state).store(
                CACHE_NAME,
                candidate.key,
                body,
                tags.tags,
                since=tags.since(candidate.since),
                ttl=ttl,
            )
        except RedisError:
            log.warning("response cache store failed", exc_info=True)
            return False

    def _remember_unshareable(self, key: str) -> None:
        self._unshareable[key] = time.monotonic() + UNSHAREABLE_SECONDS
        self._unshareable.move_to_end(key)
        if len(self._unshareable) > UNSHAREABLE_MEMORY:
            self._unshareable.popitem(last=False)


def typename_keys(document: DocumentNode, operation_name: str | None) -> set[str]:
    """Response keys of the operation's root `__typename` fields (which need no tag)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    operation = next(
        (o for o in operations if (o.name.value if o.name else None) == operation_name),
        operations[0] if len(operations) == 1 else None,
    )
    if operation is None:
        return set()
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    keys: set[str] = set()
    walked: set[str] = set()  # each fragment once: spreading it again adds no key

    def walk(selection_set: SelectionSetNode) -> None:
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode) and selection.name.value == "__typename":
                keys.add(selection.alias.value if selection.alias else "__typename")
            elif isinstance(selection, InlineFragmentNode):
                walk(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in walked:
                    walked.add(fragment.name.value)
                    walk(fragment.selection_set)

    walk(operation.selection_set)
    return keys
