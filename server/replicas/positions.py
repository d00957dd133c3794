"""Read-your-writes: after a caller's transaction commits, their *mark* records how far a
replica must have replayed before it may serve them again.

The mark is a number from the write clock (a Redis counter, the tagged cache's sequence),
taken after the commit and stored under the caller's scope (`u:<user id>` or
`k:<api key id>`) for as long as a usable replica could still be missing the write. A
read for that caller may use a replica only if the replica's position (the clock value of
the newest primary sample it has replayed past, `server.replicas.replica_set`) is at least
the mark; otherwise it goes to the primary. The mark is written by the commit's after-commit
Redis pipeline, together with the outbox nudge every domain write already sends, so it
costs a mutation no round trip of its own (docs/scale.md)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog
from redis.asyncio.client import Pipeline
from sqlalchemy.ext.asyncio import AsyncSession

from server.app_state import AppState
from server.auth.actor import Actor
from server.db import WroteAs, note_writer
from server.effects import FollowUp, in_pipeline
from server.replicas.replica_set import CLOCK_KEY, EPOCH_KEY, MARKER_PREFIX

log = structlog.get_logger("eventapi.replicas")

# Take one number and store it under every scope of the commit. A mark only ever grows:
# the counter does, and each writer stores the number it took.
# The mark carries the clock's epoch (server.replicas.replica_set): a mark taken after Redis
# lost the clock is never compared with samples taken before.
MARK = """
local n = redis.call('INCR', KEYS[1])
local mark = n .. ':' .. (redis.call('GET', KEYS[2]) or '')
for i = 3, #KEYS do redis.call('SET', KEYS[i], mark, 'PX', ARGV[1]) end
return n
"""
# A mark outlives the lag bound by a wide margin (clock differences between instances,
# the sampling interval): after that every usable replica has the write anyway.
MARGIN_SECONDS = 10.0


def scope_of(actor: Actor) -> str | None:
    """Whose writes a request's reads must see: the user's (on any device or session), or
    the API key's. Anonymous callers have no scope (their orders are read by id, from the
    primary)."""
    if actor.user_id is not None:
        return user_scope(actor.user_id)
    if actor.api_key_id is not None:
        return f"k:{actor.api_key_id}"
    return None


def note_callers(session: AsyncSession, actors: Iterable[Actor]) -> None:
    """A transaction made for several callers at once (group commit) counts as a write by
    each of them: each reads what was done for them at once."""
    for scope in {scope_of(actor) for actor in actors}:
        if scope is not None:
            note_writer(session, scope)


def user_scope(user_id: object) -> str:
    return f"u:{user_id}"


def marker_ttl_ms(max_lag: float, poll_interval: float) -> int:
    return int((max_lag + 2 * poll_interval + MARGIN_SECONDS) * 1000)


@in_pipeline(WroteAs)
def mark_writers(state: AppState, batch: list[WroteAs], pipe: Pipeline) -> FollowUp | None:
    replicas = state.db.replicas
    if replicas is None:
        return None
    scopes = sorted({effect.scope for effect in batch})
    ttl = marker_ttl_ms(replicas.max_lag, replicas.poll_interval)
    keys = [CLOCK_KEY, EPOCH_KEY, *(MARKER_PREFIX + s for s in scopes)]
    pipe.eval(MARK, len(keys), *keys, str(ttl))
    return _report_failure


async def _report_failure(replies: list[Any]) -> None:
    if isinstance(replies[0], Exception):
        # The caller may read a replica that lacks this write for up to the lag bound.
        log.warning("read-your-writes mark not recorded", error=str(replies[0]))
