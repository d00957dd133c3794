"""One subscriber's side of the fan-out: a bounded mailbox that keeps only the latest state.

The hub *offers* states without ever waiting; the subscriber takes them at its own pace.
The mailbox holds at most one state per key (ticket type and date, or the order), so a
slow subscriber skips intermediate states, never holds anyone else up, and always ends up
with the latest. A state equal to the one it last took is not offered again."""

from __future__ import annotations

import asyncio
import uuid
from typing import Generic, TypeVar

from server.live.channels import Scope
from server.orders.models import Order
from server.ticketing.availability import Availability
from server.ticketing.queries import SeatStatus

K = TypeVar("K")
V = TypeVar("V")

_MISSING = object()


class Watcher(Generic[K, V]):
    def __init__(self) -> None:
        self._pending: dict[K, V] = {}
        self._taken: dict[K, V] = {}
        self._wake = asyncio.Event()
        self.ended = False

    @property
    def scope(self) -> Scope:
        """What the first read for this watcher must cover (None: everything)."""
        return None

    def offer(self, key: K, value: V) -> None:
        if self.ended:
            return
        if self._taken.get(key, _MISSING) == value:
            self._pending.pop(key, None)
            return
        self._pending[key] = value
        self._wake.set()

    def forget_taken(self) -> None:
        """Offer everything again (after a gap in which changes may have been missed)."""
        self._taken.clear()

    def end(self) -> None:
        """No more states: the stream completes (its subject is gone or out of reach)."""
        self.ended = True
        self._pending.clear()
        self._wake.set()

    @property
    def backlog(self) -> int:
        return len(self._pending)

    def __aiter__(self) -> Watcher[K, V]:
        return self

    async def __anext__(self) -> V:
        while not self._pending:
            if self.ended:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        key = next(iter(self._pending))
        value = self._pending.pop(key)
        self._taken[key] = value
        return value


AvailabilityKey = tuple[uuid.UUID, uuid.UUID]


class AvailabilityWatcher(Watcher[AvailabilityKey, Availability]):
    """Availability of one event (or one of its dates) as one viewer may see it."""

    def __init__(self, *, occurrence_id: uuid.UUID | None, sees_private: bool) -> None:
        super().__init__()
        self.occurrence_id = occurrence_id
        self.sees_private = sees_private

    @property
    def scope(self) -> Scope:
        return None if self.occurrence_id is None else frozenset({self.occurrence_id})


class OrderWatcher(Watcher[uuid.UUID, Order]):
    """One order's status; each read is a new row object, so every change is offered."""


class SeatWatcher(Watcher[uuid.UUID, SeatStatus]):
    """The seat map of one date (or one of its sections): a state per seat, offered again
    only when that seat's state changed."""

    def __init__(
        self, *, occurrence_id: uuid.UUID, section: str | None, sees_private: bool
    ) -> None:
        super().__init__()
        self.occurrence_id = occurrence_id
        self.section = section
        self.sees_private = sees_private

    @property
    def scope(self) -> Scope:
        return frozenset({self.occurrence_id})
