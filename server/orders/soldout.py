"""A short-lived Redis note that a ticket type is sold out, so that in a flash sale the
crowd that arrives after the last ticket is answered without touching PostgreSQL.

The note only ever refuses, never sells: PostgreSQL still decides every reservation. It
lives one second, so a ticket that comes back (a cancelled or expired order) is on sale
again at most a second later; until then availability already shows it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("eventapi.orders.soldout")

TTL_MS = 1000


def _key(event_id: uuid.UUID, occurrence_id: uuid.UUID | None, ticket_type_id: uuid.UUID) -> str:
    return f"soldout:{event_id}:{occurrence_id or '-'}:{ticket_type_id}"


class SoldOutNotes:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def any_noted(
        self,
        event_id: uuid.UUID,
        occurrence_id: uuid.UUID | None,
        ticket_type_ids: Sequence[uuid.UUID],
    ) -> bool:
        try:
            found = await self.redis.mget(
                [_key(event_id, occurrence_id, t) for t in ticket_type_ids]
            )
        except RedisError:
            return False  # without the note, PostgreSQL answers
        return any(v is not None for v in found)

    async def note(
        self, event_id: uuid.UUID, occurrence_id: uuid.UUID | None, ticket_type_id: uuid.UUID
    ) -> None:
        try:
            await self.redis.set(_key(event_id, occurrence_id, ticket_type_id), b"1", px=TTL_MS)
        except RedisError:
            log.warning("could not note a sold-out ticket type", exc_info=True)
