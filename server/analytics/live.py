"""Live analytics: `live:analytics:<event id>` says an event's numbers moved; each app
instance reads the summary once per burst (the hub's topics coalesce: at most two reads
for any burst of messages) and offers it to every subscriber of that event and date.

What moves them: inventory changes (orders placed, paid, cancelled, expired, refunded in
full, holds), waitlist changes (after-commit effects, published at once), and partial
refunds and check-ins (outbox consumers, as those record no inventory change)."""

from __future__ import annotations

import uuid

from arq.connections import ArqRedis
from redis.asyncio import Redis

from server.analytics.figures import Figures, Window, read_figures
from server.analytics.jobs import keep_rollup_current
from server.analytics.service import snapshot
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


class AnalyticsWatcher(Watcher[str, Figures]):
    """One subscriber's view: the event or one of its dates, and the minutes its series
    by the minute need. A read that finds the same figures offers nothing (the watcher
    drops equal values)."""

    def __init__(self, occurrence_id: uuid.UUID | None, window: Window | None = None) -> None:
        super().__init__()
        self.occurrence_id = occurrence_id
        self.window = window


class AnalyticsTopic(Topic[AnalyticsWatcher, "Figures | None"]):
    """Reads every date of the event once per refresh, in one snapshot, with the minutes
    any of its watchers needs; each watcher gets its own date and window of it."""

    def __init__(
        self,
        name: str,
        db: Database,
        read_slot: ReadSlot,
        event_id: uuid.UUID,
        queue: ArqRedis | None,
    ) -> None:
        super().__init__(name, db, read_slot)
        self.event_id = event_id
        self.queue = queue

    async def read(self, scope: ChannelScope) -> Figures | None:
        window = Window.around(
            (w.window.start, w.window.end) for w in self.watchers if w.window is not None
        )
        async with self.db.read() as session:
            await snapshot(session)
            if await session.get(Event, self.event_id) is None:
                return None
            figures = await read_figures(session, self.event_id, window=window)
        await keep_rollup_current(self.queue, self.event_id, figures)
        return figures

    def dispatch(
        self, state: Figures | None, targets: list[AnalyticsWatcher], *, reset: bool
    ) -> None:
        for watcher in targets:
            if watcher.ended or watcher not in self.watchers:
                continue
            if state is None:
                watcher.end()
                continue
            if reset:
                watcher.forget_taken()
            if (
                state.window is not None
                and watcher.window is not None
                and state.window.covers(watcher.window.start, watcher.window.end)
            ):
                watcher.offer("figures", state.scoped(watcher.occurrence_id).within(watcher.window))
            elif watcher.window is None:
                watcher.offer("figures", state.scoped(watcher.occurrence_id).within(None))
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
