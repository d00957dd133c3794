"""How the catalog's fields take part in the public response cache (schema/persisted).

An `event` response is tagged `event:<id>` and `organization:<id>`: every change to the
event, its dates, assets, ticket types or tiers bumps the first. When it shows ticket
types it is also tagged `availability:<id>` (every inventory movement bumps it) and kept
no longer than the next moment its answer changes by the clock alone: a sales window or
a tier window opening or closing, a date starting or ending, a hold or a pending order
running out."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from schema.context import Info
from server.clock import utcnow
from server.events.cache import event_tag, organization_tag
from server.ticketing.changes import availability_tag

if TYPE_CHECKING:
    from schema.events.types import Event
    from schema.ticketing.types import TicketType


def _tag(info: Info, *tags: str) -> None:
    # CacheTags reads `info.path` only; Strawberry's Path type differs from its protocol.
    info.context.cache_tags.add(cast(Any, info), *tags)


def tag_event(info: Info, event_id: uuid.UUID, organization_id: uuid.UUID) -> None:
    _tag(info, event_tag(event_id), organization_tag(organization_id))


def next_change(now: datetime, moments: Iterable[datetime | None]) -> datetime | None:
    future = [m for m in moments if m is not None and m > now]
    return min(future) if future else None


async def bound_ticket_types(
    info: Info, event: Event, types: Sequence[TicketType], *, hold_token: str | None
) -> None:
    from schema.events.loaders import NextExpiryByEventLoader, OccurrencesByEventLoader
    from schema.ticketing.loaders import PriceTiersByTicketTypeLoader

    tags = info.context.cache_tags
    if not info.context.actor.is_anonymous:
        return  # only anonymous answers are shared
    if hold_token:
        tags.no_cache()  # what a hold token unlocks is for its holder
        return
    root = info.path
    while root.prev is not None:
        root = root.prev
    if root.key not in tags.covered:
        return  # under a root field that is never shared (a listing): nothing to bound
    event_id = event.record.id
    _tag(info, event_tag(event_id), availability_tag(event_id))
    moments: list[datetime | None] = []
    for ticket_type in types:
        moments += [ticket_type.sales_start, ticket_type.sales_end]
    tier_lists = await info.context.loader(PriceTiersByTicketTypeLoader).load_many(
        [uuid.UUID(str(t.id)) for t in types]
    )
    for tiers in tier_lists:
        for tier in tiers:
            moments += [tier.starts_at, tier.ends_at]
    occurrences = (
        event.bundle.occurrences
        if event.bundle is not None
        else await info.context.loader(OccurrencesByEventLoader).load(event_id)
    )
    for occurrence in occurrences:
        moments += [occurrence.starts_at, occurrence.ends_at]
    moments.append(await info.context.loader(NextExpiryByEventLoader).load(event_id))
    deadline = next_change(utcnow(), moments)
    if deadline is not None:
        tags.expires_at(deadline)
