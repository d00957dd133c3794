"""What recorded after-commit effects mean: each domain registers a handler for its effect
types here, and the app installs `EffectRunner` as the database's effect handler.

Effects run after the commit, so a failure in one is logged and never undoes the change;
anything that must not be lost goes through the outbox instead."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from redis.asyncio.client import Pipeline

from server.app_state import AppState
from server.db import Database

log = structlog.get_logger("eventapi.effects")

# Modules that register handlers with @handles; imported when the app starts.
HANDLER_MODULES: list[str] = [
    "server.cache.effects",
    "server.jobs.enqueue",
    "server.jobs.dispatch",
    "server.webhooks.jobs",
    "server.orders.effects",
    "server.live.publisher",
    "server.waitlist.jobs",
    "server.analytics.live",
    "server.replicas.positions",
]

Handler = Callable[[AppState, list[Any]], Awaitable[None]]
_handlers: dict[type, list[Handler]] = {}


def handles(effect_type: type) -> Callable[[Handler], Handler]:
    """Register a handler for one effect type (several domains may handle one type); each
    receives all such effects of a commit, and one failing does not stop the others."""

    def register(fn: Handler) -> Handler:
        registered = _handlers.setdefault(effect_type, [])
        if fn not in registered:
            registered.append(fn)
        return fn

    return register


# Steps that only send Redis commands share one pipeline per commit: one round trip for all
# of them (the outbox nudge, the read-your-writes marks). A step queues its commands and
# may return a follow-up, which receives the replies to exactly those commands.
FollowUp = Callable[[list[Any]], Awaitable[None]]
PipelineStep = Callable[[AppState, list[Any], Pipeline], FollowUp | None]
_pipelined: dict[type, list[PipelineStep]] = {}


def in_pipeline(effect_type: type) -> Callable[[PipelineStep], PipelineStep]:
    """Register an after-commit step that queues Redis commands on the commit's pipeline
    (it must not await anything itself)."""

    def register(fn: PipelineStep) -> PipelineStep:
        registered = _pipelined.setdefault(effect_type, [])
        if fn not in registered:
            registered.append(fn)
        return fn

    return register


# A few effects must also act just before the commit (the tagged cache marks its tags
# there, so nothing read before the commit can be cached as current after it); such a
# step is undone by its `after_rollback` handler when the commit does not happen.
_before_commit: dict[type, Handler] = {}
_after_rollback: dict[type, Handler] = {}


def before_commit(effect_type: type) -> Callable[[Handler], Handler]:
    """Register a step run inside the transaction, right before COMMIT; if it raises, the
    transaction rolls back."""

    def register(fn: Handler) -> Handler:
        _before_commit[effect_type] = fn
        return fn

    return register


def after_rollback(effect_type: type) -> Callable[[Handler], Handler]:
    """Register what undoes the `before_commit` step when the transaction rolls back."""

    def register(fn: Handler) -> Handler:
        _after_rollback[effect_type] = fn
        return fn

    return register


class EffectRunner:
    def __init__(self, state: AppState) -> None:
        for module in HANDLER_MODULES:
            importlib.import_module(module)
        self.state = state

    def install(self, db: Database) -> None:
        db.effect_handler = self
        db.before_commit_handler = self.before_commit
        db.rollback_handler = self.after_rollback

    async def before_commit(self, effects: list[object]) -> None:
        for effect_type, batch in _grouped(effects).items():
            step = _before_commit.get(effect_type)
            if step is not None:
                await step(self.state, batch)

    async def after_rollback(self, effects: list[object]) -> None:
        for effect_type, batch in _grouped(effects).items():
            undo = _after_rollback.get(effect_type)
            if undo is None:
                continue
            try:
                await undo(self.state, batch)
            except Exception:
                log.exception("after-rollback effect failed", effect=effect_type.__name__)

    async def __call__(self, effects: list[object]) -> None:
        grouped = _grouped(effects)
        await self._run_pipelined(grouped)
        for effect_type, batch in grouped.items():
            for handler in _handlers.get(effect_type, ()):
                try:
                    await handler(self.state, batch)
                except Exception:
                    log.exception("after-commit effect failed", effect=effect_type.__name__)

    async def _run_pipelined(self, grouped: dict[type, list[Any]]) -> None:
        steps = [
            (step, effect_type, batch)
            for effect_type, batch in grouped.items()
            for step in _pipelined.get(effect_type, ())
        ]
        if not steps:
            return
        pipe = self.state.redis.pipeline(transaction=False)
        follow_ups: list[tuple[FollowUp, int, int, type]] = []
        for step, effect_type, batch in steps:
            start = len(pipe.command_stack)
            follow_up = step(self.state, batch, pipe)
            if follow_up is not None:
                follow_ups.append((follow_up, start, len(pipe.command_stack), effect_type))
        if not pipe.command_stack:
            return
        try:
            replies = await pipe.execute(raise_on_error=False)
        except Exception:
            log.exception("after-commit pipeline failed", effects=[t.__name__ for t in grouped])
            return
        finally:
            await pipe.reset()
        for follow_up, start, end, effect_type in follow_ups:
            try:
                await follow_up(replies[start:end])
            except Exception:
                log.exception("after-commit effect failed", effect=effect_type.__name__)


def _grouped(effects: list[object]) -> dict[type, list[Any]]:
    grouped: dict[type, list[Any]] = {}
    for effect in effects:
        grouped.setdefault(type(effect), []).append(effect)
    return grouped
