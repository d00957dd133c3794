"""Outbox consumers: in-process reactions to domain events (send the order confirmation
on `order.confirmed`, ...), called by the outbox dispatcher.

    from server.jobs.consumers import ConsumerContext, register_consumer

    async def on_order_confirmed(ctx: ConsumerContext, event: OutboxEvent) -> None:
        enqueue_after_commit(ctx.session, send_confirmation, str(event.payload["orderId"]))

    register_consumer("order.confirmed", on_order_confirmed)

A consumer runs inside the dispatcher's transaction (in a savepoint of its own), so what it
writes commits together with the event being marked dispatched. Keep consumers quick and
put slow work (mail, HTTP) in a job through `enqueue_after_commit`. A consumer that raises
is rolled back to its savepoint and recorded as a dead letter; the event still counts as
dispatched, so one broken consumer never holds up the outbox. If the whole dispatch
transaction fails, every consumer of the batch runs again: consumers must be idempotent."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from server.config import Settings
from server.outbox.models import OutboxEvent

ANY_EVENT = "*"


@dataclass(frozen=True)
class ConsumerContext:
    session: AsyncSession
    settings: Settings
    redis: Redis
    now: datetime


Consumer = Callable[[ConsumerContext, OutboxEvent], Awaitable[None]]

_consumers: dict[str, list[Consumer]] = {}


def register_consumer(event_type: str, fn: Consumer) -> Consumer:
    """Call `fn(ctx, event)` for every dispatched event of `event_type` (`*`: all)."""
    handlers = _consumers.setdefault(event_type, [])
    if fn not in handlers:
        handlers.append(fn)
    return fn


def consumes(event_type: str) -> Callable[[Consumer], Consumer]:
    """Decorator form of `register_consumer`."""

    def register(fn: Consumer) -> Consumer:
        return register_consumer(event_type, fn)

    return register


def consumers_for(event_type: str) -> list[Consumer]:
    return [*_consumers.get(event_type, []), *_consumers.get(ANY_EVENT, [])]


def consumer_name(fn: Consumer) -> str:
    return f"{fn.__module__}:{getattr(fn, '__qualname__', repr(fn))}"


def unregister_consumer(event_type: str, fn: Consumer) -> None:
    handlers = _consumers.get(event_type, [])
    if fn in handlers:
        handlers.remove(fn)
