"""How resolvers opt a response into the public response cache.

A response is cached only when every root field of the operation tagged it: a root
resolver calls `info.context.cache_tags.add(info, f"event:{event.id}")` naming what its
data came from (nested resolvers may add the tags of what they read too). A change
recorded with `InvalidateTags` to any of those tags invalidates the cached response.
Anything that must never be shared calls `info.context.cache_tags.no_cache()`. A root
field that says nothing makes the response uncacheable: safe by default."""

from __future__ import annotations

from typing import Any, Protocol


class _Path(Protocol):
    key: str | int
    prev: Any


class _Info(Protocol):
    @property
    def path(self) -> _Path: ...


class CacheTags:
    __slots__ = ("covered", "refused", "tags")

    def __init__(self) -> None:
        self.tags: set[str] = set()
        self.covered: set[str | int] = set()  # root response keys whose resolver tagged
        self.refused = False

    def add(self, info: _Info, *tags: str) -> None:
        self.tags.update(tags)
        if info.path.prev is None:
            self.covered.add(info.path.key)

    def no_cache(self) -> None:
        self.refused = True

    def allow(self, root_keys: set[str]) -> bool:
        """Whether a response with these root keys (`__typename` ones excluded) may be
        shared with other anonymous callers."""
        return not self.refused and bool(self.tags) and root_keys <= self.covered
