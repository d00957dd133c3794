"""What recorded after-commit effects mean: each domain registers a handler for its effect
types here, and the app installs `EffectRunner` as the database's effect handler.

Effects run after the commit, so a failure in one is logged and never undoes the change;
anything that must not be lost goes through the outbox instead."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from server.app_state import AppState

log = structlog.get_logger("eventapi.effects")

# Modules that register handlers with @handles; imported when the app starts.
HANDLER_MODULES: list[str] = [
    "server.jobs.enqueue",
    "server.jobs.dispatch",
    "server.webhooks.jobs",
    "server.orders.effects",
]

Handler = Callable[[AppState, list[Any]], Awaitable[None]]
_handlers: dict[type, Handler] = {}


def handles(effect_type: type) -> Callable[[Handler], Handler]:
    """Register the handler for one effect type; it receives all such effects of a commit."""

    def register(fn: Handler) -> Handler:
        _handlers[effect_type] = fn
        return fn

    return register


class EffectRunner:
    def __init__(self, state: AppState) -> None:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        self.state = state

    async def __call__(self, effects: list[object]) -> None:
        grouped: dict[type, list[Any]] = {}
        for effect in effects:
            grouped.setdefault(type(effect), []).append(effect)
        for effect_type, batch in grouped.items():
            handler = _handlers.get(effect_type)
            if handler is None:
                continue
            try:
                await handler(self.state, batch)
            except Exception:
                log.exception("after-commit effect failed", effect=effect_type.__name__)
