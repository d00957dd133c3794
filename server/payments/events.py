"""What a provider event does, by kind: the handler registry the webhook shim dispatches to.

A handler is `async fn(session, event, now)`. It runs inside the transaction that stored
the event (under a savepoint), exactly once per stored event, and only in the request
whose insert won. It must still be idempotent with respect to the order's state,
because providers send several events about one payment (a TEST confirmation and a
provider webhook, a `charge.refunded` after our own `refund` call).

- Return normally: the event is `applied`.
- Raise a `DomainError`: its writes are rolled back to the savepoint and the event is
  kept as `rejected` with the error (the provider gets 200 and stops retrying).
- Raise anything else: the whole transaction rolls back, the event is not stored, and the
  provider gets 500 and retries later.

Domains register handlers at import time from a module listed in `HANDLER_MODULES`,
which is imported before the first event is dispatched.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.payments.base import EventKind, ProviderEvent

EventHandler = Callable[[AsyncSession, ProviderEvent, datetime], Awaitable[None]]

# Modules that call `register_handler`; imported once, before the first dispatch.
HANDLER_MODULES: list[str] = ["server.orders.payment_events"]

_handlers: dict[EventKind, EventHandler] = {}
_loaded = False


def register_handler(kind: EventKind, handler: EventHandler) -> EventHandler:
    """Make `handler` the one handler for `kind` (a later registration replaces it)."""
    _handlers[EventKind(kind)] = handler
    return handler


def handler_for(kind: EventKind) -> EventHandler | None:
    _load_modules()
    return _handlers.get(kind)


@contextmanager
def handlers_replaced(replacements: Mapping[EventKind, EventHandler]) -> Iterator[None]:
    """Run with exactly these handlers (and no others), then restore the registry."""
    _load_modules()
    saved = dict(_handlers)
    _handlers.clear()
    _handlers.update(replacements)
    try:
        yield
    finally:
        _handlers.clear()
        _handlers.update(saved)


def _load_modules() -> None:
    global _loaded
    if _loaded:
        return
    for module in HANDLER_MODULES:
        importlib.import_module(module)
    _loaded = True
