"""How resolvers opt a response into the public response cache.

A response is cached only when every root field of the operation tagged it: a root
resolver calls `info.context.cache_tags.add(info, f"event:{event.id}")` naming what its
data came from (nested resolvers may add the tags of what they read too). A change
recorded with `InvalidateTags` to any of those tags invalidates the cached response.
Anything that must never be shared calls `info.context.cache_tags.no_cache()`. A root
field that says nothing makes the response uncacheable: safe by default.

Data that changes with the clock rather than with a commit (a price tier that starts at
noon, sales that end tonight) cannot be invalidated by a tag: a resolver that shows such
data calls `info.context.cache_tags.expires_at(moment)`, and the response is kept no
longer than that.

A response read (partly) from a streaming replica records the replica's position
(`read_as_of`): it is stored only if none of its tags changed after that position, since
the replica may not have had such a change yet."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class _Path(Protocol):
    @property
    def key(self) -> str | int: ...

    @property
    def prev(self) -> Any: ...


class _Info(Protocol):
    @property
    def path(self) -> _Path: ...


class CacheTags:
    __slots__ = ("as_of", "covered", "deadline", "refused", "tags")

    def __init__(self) -> None:
        self.tags: set[str] = set()
        self.covered: set[str | int] = set()  # root response keys whose resolver tagged
        self.refused = False
        self.deadline: float | None = None  # epoch seconds after which it must not be served
        self.as_of: int | None = None  # the oldest replica position read from (write clock)

    def add(self, info: _Info, *tags: str) -> None:
        self.tags.update(tags)
        if info.path.prev is None:
            self.covered.add(info.path.key)

    def no_cache(self) -> None:
        self.refused = True

    def expires_at(self, moment: datetime) -> None:
        at = moment.timestamp()
        self.deadline = at if self.deadline is None else min(self.deadline, at)

    def read_as_of(self, position: int) -> None:
        self.as_of = position if self.as_of is None else min(self.as_of, position)

    def since(self, lookup_since: int) -> int:
        """The cache sequence number a store must check the tags against."""
        return lookup_since if self.as_of is None else min(lookup_since, self.as_of)

    def allow(self, root_keys: set[str]) -> bool:
        """Whether a response with these root keys (`__typename` ones excluded) may be
        shared with other anonymous callers."""
        return not self.refused and bool(self.tags) and root_keys <= self.covered
