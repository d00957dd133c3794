"""A channel's local subscribers and the one read that serves them all.

A change message asks the topic to refresh. Refreshes of one topic never overlap: a
message that arrives while one is running marks the topic dirty (widening the dates to
read), and one more refresh follows, so a burst of messages costs at most two reads and
the last one always sees the last change. Each refresh reads the state once and offers
each watcher the view it was granted."""

from __future__ import annotations

import asyncio
import uuid
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Generic, TypeVar

import structlog

from server.clock import utcnow
from server.db import Database
from server.live import metrics
from server.live.channels import Scope, merge_scopes
from server.live.service import EventViews, SeatViews, current_order, event_views, seat_views
from server.live.watchers import AvailabilityWatcher, OrderWatcher, SeatWatcher, Watcher
from server.orders.models import Order
from server.ticketing.availability import Availability

log = structlog.get_logger("eventapi.live")

W = TypeVar("W", bound=Watcher[Any, Any])
S = TypeVar("S")

RETRY_DELAY = 1.0  # seconds before a failed read is tried again

# Runs a read with one of the hub's limited database slots.
ReadSlot = Callable[[Callable[[], Awaitable[Any]]], Awaitable[Any]]


class Topic(ABC, Generic[W, S]):
    """`name` identifies the topic in the hub; `channel` is the Redis channel whose
    messages it hears (by default the same: several topics may hear one channel)."""

    def __init__(
        self, name: str, db: Database, read_slot: ReadSlot, *, channel: str | None = None
    ) -> None:
        self.name = name
        self.channel = channel or name
        self.db = db
        self.read_slot = read_slot
        self.watchers: set[W] = set()
        self.live = False  # subscribed in Redis: reads may start
        self._requested = False
        self._scope: Scope = frozenset()
        self._reset = False
        self._task: asyncio.Task[None] | None = None
        self.closed = False
        self.reads = 0

    def request(self, scope: Scope, *, reset: bool = False) -> None:
        """Read again (the dates in `scope`; None: all); with `reset`, every watcher gets
        its whole view again, not only what changed."""
        self._scope = merge_scopes(self._scope, scope) if self._requested else scope
        self._requested = True
        self._reset = self._reset or reset
        self._start()

    def go_live(self) -> None:
        self.live = True
        self._start()

    def go_dark(self) -> None:
        """The pub/sub connection is gone: changes may be missed from now on, so once it
        is back every watcher gets a fresh snapshot."""
        self.live = False
        self.request(None, reset=True)

    def close(self) -> None:
        self.closed = True
        self.live = False
        if self._task is not None:
            self._task.cancel()
            self._task = None

    def _start(self) -> None:
        if self.live and self._requested and self._task is None and not self.closed:
            self._task = asyncio.create_task(self._run(), name=f"live-refresh {self.name}")

    async def _run(self) -> None:
        try:
            while self._requested and self.live and not self.closed:
                scope, reset = self._scope, self._reset
                self._requested, self._scope, self._reset = False, frozenset(), False
                # Watchers that arrive during the read wait for the next one: their first
                # state must come from a read that started after they did.
                targets = list(self.watchers)
                try:
                    state = await self.read_slot(partial(self.read, scope))
                except Exception as exc:
                    metrics.refresh_failures.inc()
                    log.warning("live refresh failed", channel=self.name, error=repr(exc))
                    self._scope = merge_scopes(self._scope, scope) if self._requested else scope
                    self._requested, self._reset = True, self._reset or reset
                    await asyncio.sleep(RETRY_DELAY)
                    continue
                self.reads += 1
                metrics.refreshes.inc()
                self.dispatch(state, targets, reset=reset)
        finally:
            if self._task is asyncio.current_task():
                self._task = None

    @abstractmethod
    async def read(self, scope: Scope) -> S: ...

    @abstractmethod
    def dispatch(self, state: S, targets: list[W], *, reset: bool) -> None: ...


class EventTopic(Topic[AvailabilityWatcher, EventViews]):
    def __init__(self, name: str, db: Database, read_slot: ReadSlot, event_id: uuid.UUID) -> None:
        super().__init__(name, db, read_slot)
        self.event_id = event_id

    async def read(self, scope: Scope) -> EventViews:
        async with self.db.read() as session:
            return await event_views(
                session, event_id=self.event_id, occurrences=scope, now=utcnow()
            )

    def dispatch(
        self, state: EventViews, targets: list[AvailabilityWatcher], *, reset: bool
    ) -> None:
        member = _by_date(state.member_rows)
        public = _by_date(state.public_rows)
        for watcher in targets:
            if watcher.ended or watcher not in self.watchers:
                continue
            if not state.exists or not (state.public or watcher.sees_private):
                watcher.end()
                continue
            if reset:
                watcher.forget_taken()
            view = member if watcher.sees_private else public
            if watcher.occurrence_id is None:
                rows = [row for date_rows in view.values() for row in date_rows]
            else:
                rows = view.get(watcher.occurrence_id, [])
            for row in rows:
                watcher.offer((row.ticket_type_id, row.occurrence_id), row)


class SeatTopic(Topic[SeatWatcher, SeatViews]):
    """One date's seat map. It hears its event's channel and reads only when a change
    names its date (or every date)."""

    def __init__(
        self,
        name: str,
        db: Database,
        read_slot: ReadSlot,
        *,
        channel: str,
        event_id: uuid.UUID,
        occurrence_id: uuid.UUID,
    ) -> None:
        super().__init__(name, db, read_slot, channel=channel)
        self.event_id = event_id
        self.occurrence_id = occurrence_id

    def request(self, scope: Scope, *, reset: bool = False) -> None:
        if reset or scope is None or self.occurrence_id in scope:
            super().request(scope, reset=reset)

    async def read(self, scope: Scope) -> SeatViews:
        async with self.db.read() as session:
            return await seat_views(
                session, event_id=self.event_id, occurrence_id=self.occurrence_id, now=utcnow()
            )

    def dispatch(self, state: SeatViews, targets: list[SeatWatcher], *, reset: bool) -> None:
        for watcher in targets:
            if watcher.ended or watcher not in self.watchers:
                continue
            if not state.exists or not (state.public or watcher.sees_private):
                watcher.end()
                continue
            if reset:
                watcher.forget_taken()
            for seat in state.seats:
                if watcher.section is None or seat.section == watcher.section:
                    watcher.offer(seat.seat_id, seat)


def _by_date(rows: list[Availability]) -> dict[uuid.UUID, list[Availability]]:
    grouped: dict[uuid.UUID, list[Availability]] = {}
    for row in rows:
        grouped.setdefault(row.occurrence_id, []).append(row)
    return grouped


class OrderTopic(Topic[OrderWatcher, "Order | None"]):
    def __init__(self, name: str, db: Database, read_slot: ReadSlot, order_id: uuid.UUID) -> None:
        super().__init__(name, db, read_slot)
        self.order_id = order_id

    async def read(self, scope: Scope) -> Order | None:
        async with self.db.read() as session:
            return await current_order(session, order_id=self.order_id)

    def dispatch(self, state: Order | None, targets: list[OrderWatcher], *, reset: bool) -> None:
        for watcher in targets:
            if watcher.ended or watcher not in self.watchers:
                continue
            if state is None:
                watcher.end()
            else:
                watcher.offer(state.id, state)
