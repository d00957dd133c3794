"""The per-instance fan-out: ONE Redis pub/sub connection for the whole instance, and a
registry of the local subscribers of each channel.

- A channel is subscribed in Redis while at least one local subscriber watches it, and
  unsubscribed when the last one leaves (a syncer task reconciles what Redis has with
  what the registry wants, so subscribe/unsubscribe races settle by themselves).
- A topic reads nothing until Redis has confirmed its subscription, so no change can
  fall between a subscriber's first state and the first message it could hear.
- If the connection drops (Redis restarting), the hub reconnects with exponential backoff
  and jitter, subscribes every watched channel again, and each subscriber then gets a
  fresh snapshot: whatever changed while the connection was down is not missed.

Started and stopped by the app's lifespan (`start`, `stop`); subscriptions reach it with
`live_hub(state)`."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from server.app_state import AppState
from server.db import Database
from server.errors import DomainError, ErrorCode
from server.live import metrics
from server.live.channels import CONTROL, decode_scope, event_channel, order_channel
from server.live.publisher import publisher_for
from server.live.topics import EventTopic, OrderTopic, ReadSlot, SeatTopic, Topic
from server.live.watchers import AvailabilityWatcher, OrderWatcher, SeatWatcher, Watcher

log = structlog.get_logger("eventapi.live")

MAX_WATCHERS = 20_000  # per instance; more subscriptions are refused with LIMIT_EXCEEDED
MAX_CONCURRENT_READS = 8  # refreshes reading the database at once (the pool is shared)
PING_INTERVAL = 5.0  # seconds of silence before the hub pings Redis
SILENCE_LIMIT = 15.0  # seconds without any reply before the connection counts as dead
BACKOFF_MIN, BACKOFF_MAX = 0.05, 5.0

T = TypeVar("T")
W = TypeVar("W", bound=Watcher[Any, Any])


class LiveUnavailable(DomainError):
    code = ErrorCode.LIMIT_EXCEEDED
    message = "This server has reached its limit of live subscriptions; try again later."


@dataclass
class HubStats:
    watchers: int
    topics: int
    redis_channels: int
    connected: bool
    reconnects: int
    messages: int
    tasks: int


class LiveHub:
    def __init__(
        self,
        state: AppState,
        *,
        backoff: tuple[float, float] = (BACKOFF_MIN, BACKOFF_MAX),
        max_watchers: int = MAX_WATCHERS,
    ) -> None:
        self.state = state
        self.backoff = backoff
        self.max_watchers = max_watchers
        self.topics: dict[str, Topic[Any, Any]] = {}  # by topic name
        self._hearing: dict[str, set[Topic[Any, Any]]] = {}  # the topics of each channel
        self._watchers = 0
        self._reads = asyncio.Semaphore(MAX_CONCURRENT_READS)
        self._client: Redis | None = None
        self._pubsub: PubSub | None = None
        self.connected = asyncio.Event()
        self._sync_wanted = asyncio.Event()
        self._commands = asyncio.Lock()
        self._subscribed: set[str] = set()  # SUBSCRIBE sent on this connection
        self._confirmed: set[str] = set()  # ... and confirmed by Redis
        self._awaiting: dict[str, int] = {}  # confirmations still to come, per channel
        self._tasks: list[asyncio.Task[None]] = []
        self.reconnects = 0
        self.messages = 0
        self._stopped = False

    # -- lifecycle -----------------------------------------------------------------

    async def start(self, *, wait: float = 5.0) -> None:
        self._tasks = [
            asyncio.create_task(self._connection_loop(), name="live-hub-connection"),
            asyncio.create_task(self._sync_loop(), name="live-hub-sync"),
        ]
        try:
            await asyncio.wait_for(self.connected.wait(), wait)
        except TimeoutError:
            log.warning("live pub/sub not connected yet; retrying in the background")

    async def stop(self) -> None:
        self._stopped = True
        for topic in list(self.topics.values()):
            for watcher in list(topic.watchers):
                watcher.end()
            topic.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError):
                await task
        await self._close_connection()

    def stats(self) -> HubStats:
        return HubStats(
            watchers=self._watchers,
            topics=len(self.topics),
            redis_channels=len(self._subscribed - {CONTROL}),
            connected=self.connected.is_set(),
            reconnects=self.reconnects,
            messages=self.messages,
            tasks=sum(1 for t in self.topics.values() if t._task is not None),
        )

    # -- subscribers ---------------------------------------------------------------

    def admit(self) -> None:
        """Refuse a new subscription up front when the instance is full (or stopping)."""
        if self._stopped or self._watchers >= self.max_watchers:
            raise LiveUnavailable()

    @asynccontextmanager
    async def watch_event(
        self, event_id: uuid.UUID, *, occurrence_id: uuid.UUID | None, sees_private: bool
    ) -> AsyncIterator[AvailabilityWatcher]:
        watcher = AvailabilityWatcher(occurrence_id=occurrence_id, sees_private=sees_private)
        channel = event_channel(event_id)
        async with self._watching(
            channel,
            watcher,
            lambda: EventTopic(channel, self.state.db, self._read_slot, event_id),
        ):
            yield watcher

    @asynccontextmanager
    async def watch_seats(
        self,
        event_id: uuid.UUID,
        *,
        occurrence_id: uuid.UUID,
        section: str | None,
        sees_private: bool,
    ) -> AsyncIterator[SeatWatcher]:
        watcher = SeatWatcher(
            occurrence_id=occurrence_id, section=section, sees_private=sees_private
        )
        channel = event_channel(event_id)
        name = f"{channel}/seats/{occurrence_id}"
        async with self._watching(
            name,
            watcher,
            lambda: SeatTopic(
                name,
                self.state.db,
                self._read_slot,
                channel=channel,
                event_id=event_id,
                occurrence_id=occurrence_id,
            ),
        ):
            yield watcher

    @asynccontextmanager
    async def watch_order(self, order_id: uuid.UUID) -> AsyncIterator[OrderWatcher]:
        watcher = OrderWatcher()
        channel = order_channel(order_id)
        async with self._watching(
            channel,
            watcher,
            lambda: OrderTopic(channel, self.state.db, self._read_slot, order_id),
        ):
            yield watcher

    @asynccontextmanager
    async def watch(
        self,
        channel: str,
        watcher: W,
        new_topic: Callable[[str, Database, ReadSlot], Topic[W, Any]],
    ) -> AsyncIterator[W]:
        """Watch any channel through a topic of the caller's (other domains' live views:
        the topic reads the state, the hub keeps the Redis subscription)."""
        async with self._watching(
            channel, watcher, lambda: new_topic(channel, self.state.db, self._read_slot)
        ):
            yield watcher

    @asynccontextmanager
    async def _watching(
        self, name: str, watcher: W, new_topic: Callable[[], Topic[W, Any]]
    ) -> AsyncIterator[W]:
        self.admit()
        topic = self.topics.get(name)
        if topic is None:
            topic = new_topic()
            self.topics[name] = topic
            hearing = self._hearing.setdefault(topic.channel, set())
            if not hearing:
                metrics.channels.inc()
            hearing.add(topic)
            if topic.channel in self._confirmed:
                # Subscribed already: for another topic of the channel, or from an earlier
                # topic whose UNSUBSCRIBE was not sent yet.
                topic.live = True
            self._sync_wanted.set()
        topic.watchers.add(watcher)
        self._watchers += 1
        metrics.subscribers.inc()
        try:
            topic.request(watcher.scope)
            yield watcher
        finally:
            watcher.end()
            topic.watchers.discard(watcher)
            self._watchers -= 1
            metrics.subscribers.dec()
            if not topic.watchers and self.topics.get(name) is topic:
                del self.topics[name]
                hearing = self._hearing.get(topic.channel, set())
                hearing.discard(topic)
                if not hearing:
                    self._hearing.pop(topic.channel, None)
                    metrics.channels.dec()
                topic.close()
                self._sync_wanted.set()

    async def _read_slot(self, read: Callable[[], Awaitable[T]]) -> T:
        async with self._reads:
            return await read()

    # -- the pub/sub connection ----------------------------------------------------

    async def _connection_loop(self) -> None:
        delay = self.backoff[0]
        first = True
        while True:
            try:
                await self._connect()
                if not first:
                    self.reconnects += 1
                    metrics.reconnects.inc()
                    log.info("live pub/sub reconnected", channels=len(self.topics))
                first = False
                delay = self.backoff[0]
                await self._listen()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if self.connected.is_set() or first:
                    log.warning("live pub/sub connection lost", error=repr(exc))
            await self._lose_connection()
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.backoff[1])

    async def _connect(self) -> None:
        settings = self.state.settings
        assert settings.redis_url
        self._client = Redis.from_url(settings.redis_url, socket_connect_timeout=5)
        self._pubsub = self._client.pubsub()
        async with self._commands:
            await self._pubsub.subscribe(CONTROL)
            self._subscribed = {CONTROL}
            self._awaiting = {CONTROL: 1}
            self._confirmed = set()
        self.connected.set()
        self._sync_wanted.set()

    async def _listen(self) -> None:
        pubsub = self._pubsub
        assert pubsub is not None
        heard = time.monotonic()
        pinged = False
        while True:
            message = await pubsub.get_message(timeout=PING_INTERVAL)
            now = time.monotonic()
            if message is None:
                if now - heard > SILENCE_LIMIT:
                    raise ConnectionError("no reply from Redis")
                if not pinged:
                    await pubsub.ping()
                    pinged = True
                continue
            heard, pinged = now, False
            self._on_message(message)

    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "message":
            hearing = self._hearing.get(channel)
            if hearing:
                self.messages += 1
                metrics.received.inc()
                scope = decode_scope(message.get("data") or b"")
                for topic in hearing:
                    topic.request(scope)
        elif kind == "subscribe":
            left = self._awaiting.get(channel, 0) - 1
            if left > 0:
                self._awaiting[channel] = left
                return
            self._awaiting.pop(channel, None)
            if channel in self._subscribed:
                self._confirmed.add(channel)
                for topic in self._hearing.get(channel, ()):
                    topic.go_live()

    async def _lose_connection(self) -> None:
        was_connected = self.connected.is_set()
        self.connected.clear()
        async with self._commands:
            self._subscribed, self._confirmed, self._awaiting = set(), set(), {}
        if was_connected:
            for topic in self.topics.values():
                topic.go_dark()
        await self._close_connection()

    async def _close_connection(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        for closing in (pubsub, client):
            if closing is None:
                continue
            try:
                await closing.aclose()
            except Exception as exc:
                log.debug("closing live pub/sub connection failed", error=repr(exc))

    def _retry_sync_later(self, delay: float = 1.0) -> None:
        asyncio.get_running_loop().call_later(delay, self._sync_wanted.set)

    async def _sync_loop(self) -> None:
        """Make Redis's subscriptions match the channels that local subscribers watch."""
        while True:
            await self._sync_wanted.wait()
            self._sync_wanted.clear()
            if not self.connected.is_set():
                continue
            async with self._commands:
                pubsub = self._pubsub
                if pubsub is None:
                    continue
                wanted = set(self._hearing) | {CONTROL}
                adding = sorted(wanted - self._subscribed)
                dropping = sorted(self._subscribed - wanted)
                try:
                    if dropping:
                        self._subscribed -= set(dropping)
                        self._confirmed -= set(dropping)
                        await pubsub.unsubscribe(*dropping)
                    if adding:
                        self._subscribed |= set(adding)
                        for channel in adding:
                            self._awaiting[channel] = self._awaiting.get(channel, 0) + 1
                        await pubsub.subscribe(*adding)
                except Exception as exc:
                    # Usually the connection is gone, and the connection loop starts over;
                    # otherwise the same changes are tried again shortly.
                    log.warning("live pub/sub command failed", error=repr(exc))
                    self._subscribed -= set(adding)
                    for channel in adding:
                        left = self._awaiting.get(channel, 0) - 1
                        if left > 0:
                            self._awaiting[channel] = left
                        else:
                            self._awaiting.pop(channel, None)
                    self._retry_sync_later()


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value) if value is not None else ""


async def start(state: AppState) -> LiveHub:
    hub = LiveHub(state)
    state.live_hub = hub
    await hub.start()
    return hub


async def stop(state: AppState) -> None:
    hub, state.live_hub = state.live_hub, None
    if hub is not None:
        await hub.stop()
    await publisher_for(state).aclose()


def live_hub(state: AppState) -> LiveHub:
    hub = state.live_hub
    if hub is None:
        raise LiveUnavailable("Live updates are not available on this server.")
    return hub
