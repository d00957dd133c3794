"""Publishing changes to Redis pub/sub after commit, coalesced.

The after-commit effects `InventoryChanged` and `OrderChanged` become messages on
`live:event:<id>` and `live:order:<id>`. A flash sale commits hundreds of changes a second,
so changes are gathered for `PUBLISH_WINDOW` seconds and each channel gets one message per
window, naming every date that moved. Nothing is lost by it: a message carries no state,
and whoever receives it reads the current state after the last change it stands for.

Publishing is best effort (an effect never undoes a commit): if Redis is unreachable the
message is dropped and logged, and each instance sends its subscribers a fresh snapshot
once its own pub/sub connection is back."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import structlog
from redis.asyncio import Redis

from server.app_state import AppState
from server.effects import handles
from server.live import metrics
from server.live.channels import Scope, encode_scope, event_channel, merge_scopes, order_channel
from server.ticketing.changes import InventoryChanged, OrderChanged

log = structlog.get_logger("eventapi.live")

PUBLISH_WINDOW = 0.005  # seconds; a burst within it becomes one message per channel


class LivePublisher:
    def __init__(self, redis: Redis, *, window: float = PUBLISH_WINDOW) -> None:
        self.redis = redis
        self.window = window
        self._pending: dict[str, Scope] = {}
        self._flusher: asyncio.Task[None] | None = None

    def event_changed(self, event_id: uuid.UUID, occurrences: Scope) -> None:
        channel = event_channel(event_id)
        if channel in self._pending:
            self._pending[channel] = merge_scopes(self._pending[channel], occurrences)
        else:
            self._pending[channel] = occurrences
        self._schedule()

    def changed(self, channel: str) -> None:
        """Any other channel (other domains' live views): one message per window."""
        self._pending[channel] = None
        self._schedule()

    def order_changed(self, order_id: uuid.UUID) -> None:
        self._pending[order_channel(order_id)] = None
        self._schedule()

    def _schedule(self) -> None:
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush_after_window(), name="live-publish")

    async def _flush_after_window(self) -> None:
        try:
            await asyncio.sleep(self.window)
            await self._flush()
        finally:
            self._flusher = None

    async def _flush(self) -> None:
        # Changes recorded while a batch is being sent join the next round of this loop.
        while self._pending:
            batch, self._pending = self._pending, {}
            try:
                async with self.redis.pipeline(transaction=False) as pipe:
                    for channel, scope in batch.items():
                        pipe.publish(channel, encode_scope(scope))
                    await pipe.execute()
            except Exception as exc:
                metrics.publish_failures.inc(len(batch))
                log.warning("live publish failed", channels=len(batch), error=repr(exc))
            else:
                metrics.published.inc(len(batch))

    async def aclose(self) -> None:
        """Send what is still waiting (the app is stopping)."""
        flusher = self._flusher
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        await self._flush()


def publisher_for(state: AppState) -> LivePublisher:
    """The state's publisher (the app's, or a job context's)."""
    return state.live_publisher


@handles(InventoryChanged)
async def publish_inventory(state: AppState, batch: list[InventoryChanged]) -> None:
    publisher = publisher_for(state)
    for change in batch:
        occurrences = None if change.occurrence_id is None else frozenset({change.occurrence_id})
        publisher.event_changed(change.event_id, occurrences)


@handles(OrderChanged)
async def publish_order(state: AppState, batch: list[OrderChanged]) -> None:
    publisher = publisher_for(state)
    for change in batch:
        publisher.order_changed(change.order_id)
