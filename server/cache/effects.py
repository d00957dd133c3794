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

    __slots__ = ("early", "tags", "token")

    def __init__(self, tags: Iterable[str], *, early: bool = False) -> None:
        self.tags = frozenset(tags)
        # Identifies this writer's mark, so releasing it removes only its own.
        self.token = uuid.uuid4().hex
        # Marked on its own, before the transaction's other effects (server.db.before_locks).
        self.early = early

    def __repr__(self) -> str:
        return f"InvalidateTags({sorted(self.tags)!r})"


def _by_token(batch: list[InvalidateTags]) -> dict[str, set[str]]:
    """The batch's tags grouped by the token they were (or will be) marked under. Effects
    of one transaction are normally marked together, under the first effect's token; one
    marked early (`server.db.before_locks`) keeps its own."""
    groups: dict[str, set[str]] = {}
    for effect in batch:
        groups.setdefault(effect.token, set()).update(effect.tags)
    return groups


def _merged(batch: list[InvalidateTags]) -> tuple[set[str], str]:
    """All tags of one step under one token: the first effect's."""
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
    await _release(state, batch)


@after_rollback(InvalidateTags)
async def release_after_rollback(state: AppState, batch: list[InvalidateTags]) -> None:
    await _release(state, batch)


async def _release(state: AppState, batch: list[InvalidateTags]) -> None:
    """Bump and unmark, per marking token: the before-commit step marked the late effects
    under the first late effect's token, and each early effect under its own."""
    marked_together = [e for e in batch if e.early is False]
    groups = _by_token([e for e in batch if e.early])
    if marked_together:
        tags, token = _merged(marked_together)
        groups.setdefault(token, set()).update(tags)
    cache = tagged_cache(state)
    for token, tags in groups.items():
        await cache.mark_changed(tags, token)
