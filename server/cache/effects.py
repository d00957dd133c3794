"""`InvalidateTags`: the effect a service records when it changes data that cached values
may hold. `after_commit(session, InvalidateTags({f"event:{event.id}"}))` is all a service
writes; the steps around the commit (server.effects runs them) do the rest:

- before COMMIT: bump the tags and mark them as changing (if Redis is unreachable this
  raises, and the transaction rolls back: a change the cache cannot hear about would
  leave it serving the old data);
- after COMMIT, or after a rollback: bump them again and remove the mark."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from server.app_state import AppState
from server.cache.tagged import tagged_cache
from server.effects import after_rollback, before_commit, handles


class InvalidateTags:
    """Tags whose cached values the transaction's changes make wrong."""

    __slots__ = ("tags", "token")

    def __init__(self, tags: Iterable[str]) -> None:
        self.tags = frozenset(tags)
        # Identifies this writer's mark, so releasing it removes only its own.
        self.token = uuid.uuid4().hex

    def __repr__(self) -> str:
        return f"InvalidateTags({sorted(self.tags)!r})"


def _merged(batch: list[InvalidateTags]) -> tuple[set[str], str]:
    """All tags of one transaction under one token: the first effect's, which the steps
    before and after the commit both see, since they receive the same list."""
    tags: set[str] = set()
    for effect in batch:
        tags |= effect.tags
    return tags, batch[0].token


@before_commit(InvalidateTags)
async def mark_changing(state: AppState, batch: list[InvalidateTags]) -> None:
    tags, token = _merged(batch)
    await tagged_cache(state).mark_changing(tags, token)


@handles(InvalidateTags)
async def mark_changed(state: AppState, batch: list[InvalidateTags]) -> None:
    tags, token = _merged(batch)
    await tagged_cache(state).mark_changed(tags, token)


@after_rollback(InvalidateTags)
async def release_after_rollback(state: AppState, batch: list[InvalidateTags]) -> None:
    tags, token = _merged(batch)
    await tagged_cache(state).mark_changed(tags, token)
