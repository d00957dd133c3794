"""A short-lived Redis note that a ticket type is sold out, so that in a flash sale the
crowd that arrives after the last ticket is answered without touching PostgreSQL.

The note only ever refuses, never sells: PostgreSQL still decides every reservation. It
lives one second at most, and never past the moment the first pending order or hold on
that row expires; units that go back on sale (a cancellation, a refund, a released hold,
a raised quantity: `UnitsFreed`) remove it at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

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

    async def noted(
        self,
        event_id: uuid.UUID,
        occurrence_id: uuid.UUID | None,
        ticket_type_ids: Sequence[uuid.UUID],
    ) -> set[uuid.UUID]:
        """The ticket types among these noted sold out."""
        if not ticket_type_ids:
            return set()
        try:
            found = await self.redis.mget(
                [_key(event_id, occurrence_id, t) for t in ticket_type_ids]
            )
        except RedisError:
            return set()  # without the note, PostgreSQL answers
        return {t for t, v in zip(ticket_type_ids, found, strict=True) if v is not None}

    async def note(
        self,
        event_id: uuid.UUID,
        occurrence_id: uuid.UUID | None,
        ticket_type_id: uuid.UUID,
        *,
        now: datetime,
        next_release: datetime | None,
    ) -> None:
        """Note the type sold out, until `next_release` (when the first unit reserved or
        held on it may come back) if that is sooner than the note's usual life."""
        ttl = TTL_MS
        if next_release is not None:
            ttl = min(ttl, int((next_release - now).total_seconds() * 1000))
        if ttl <= 0:
            return
        try:
            await self.redis.set(_key(event_id, occurrence_id, ticket_type_id), b"1", px=ttl)
        except RedisError:
            log.warning("could not note a sold-out ticket type", exc_info=True)

    async def forget(self, freed: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID]]) -> None:
        """Units of these (event, date, ticket type) are on sale again."""
        keys = {
            _key(event_id, occurrence, type_id)
            for event_id, occurrence_id, type_id in freed
            for occurrence in (occurrence_id, None)  # notes of orders that named no date
        }
        if keys:
            await self.redis.delete(*sorted(keys))
