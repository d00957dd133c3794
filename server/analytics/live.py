"""Live analytics: `live:analytics:<event id>` says an event's numbers moved; each app
instance reads the summary once per burst (the hub's topics coalesce: at most two reads
for any burst of messages) and offers it to every subscriber of that event and date.

What moves them: inventory changes (orders placed, paid, cancelled, expired, refunded in
full, holds), waitlist changes (after-commit effects, published at once), and partial
refunds and check-ins (outbox consumers, as those record no inventory change)."""

from __future__ import annotations

import uuid

from redis.asyncio import Redis

from server.analytics.service import Scope, Summary, snapshot, summary
from server.app_state import AppState
from server.db import Database
from server.effects import handles
from server.events.models import Event
from server.jobs.consumers import ConsumerContext, register_consumer
from server.live.channels import Scope as ChannelScope
from server.live.channels import encode_scope
from server.live.publisher import publisher_for
from server.live.topics import ReadSlot, Topic
from server.live.watchers import Watcher
from server.outbox.models import OutboxEvent
from server.ticketing.changes import InventoryChanged
from server.waitlist.entries import WaitlistChanged

ANALYTICS_PREFIX = "live:analytics:"


def analytics_channel(event_id: uuid.UUID) -> str:
    return f"{ANALYTICS_PREFIX}{event_id}"


class AnalyticsWatcher(Watcher[str, Summary]):
    """One subscriber's view: the event, or one of its dates. A read that finds the same
    numbers offers nothing (the watcher drops equal values)."""

    def __init__(self, occurrence_id: uuid.UUID | None) -> None:
        super().__init__()
        self.occurrence_id = occurrence_id


class AnalyticsTopic(Topic[AnalyticsWatcher, "dict[uuid.UUID | None, Summary] | None"]):
    def __init__(self, name: str, db: Database, read_slot: ReadSlot, event_id: uuid.UUID) -> None:
        super().__init__(name, db, read_slot)
        self.event_id = event_id

    async def read(self, scope: ChannelScope) -> dict[uuid.UUID | None, Summary] | None:
        dates = {w.occurrence_id for w in self.watchers}
        async with self.db.read() as session:
            await snapshot(session)
            event = await session.get(Event, self.event_id)
            if event is None:
                return None
            return {d: await summary(session, Scope(event, d)) for d in dates}

    def dispatch(
        self,
        state: dict[uuid.UUID | None, Summary] | None,
        targets: list[AnalyticsWatcher],
        *,
        reset: bool,
    ) -> None:
        for watcher in targets:
            if watcher.ended or watcher not in self.watchers:
                continue
            if state is None:
                watcher.end()
                continue
            if reset:
                watcher.forget_taken()
            found = state.get(watcher.occurrence_id)
            if found is not None:
                watcher.offer("summary", found)
            else:  # joined after the read started: the next read covers it
                self.request(None)


def _publish(state: AppState, event_ids: set[uuid.UUID]) -> None:
    publisher = publisher_for(state)
    for event_id in event_ids:
        publisher.changed(analytics_channel(event_id))


@handles(InventoryChanged)
async def _inventory_moved(state: AppState, batch: list[InventoryChanged]) -> None:
    _publish(state, {c.event_id for c in batch})


@handles(WaitlistChanged)
async def _waitlist_moved(state: AppState, batch: list[WaitlistChanged]) -> None:
    _publish(state, {c.event_id for c in batch})


async def publish_now(redis: Redis, event_id: uuid.UUID) -> None:
    await redis.publish(analytics_channel(event_id), encode_scope(None))


async def _on_outbox_event(ctx: ConsumerContext, event: OutboxEvent) -> None:
    event_id = event.payload.get("eventId")
    if event_id:
        # The change itself committed before it reached the outbox dispatcher.
        await publish_now(ctx.redis, uuid.UUID(str(event_id)))


register_consumer("order.refunded", _on_outbox_event)
register_consumer("ticket.checkedin", _on_outbox_event)
