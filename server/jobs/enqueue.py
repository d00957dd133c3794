"""Enqueueing jobs: after the transaction commits (so rolled-back work enqueues nothing),
and coalesced (so a burst of nudges becomes one queued job)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from sqlalchemy.ext.asyncio import AsyncSession

from server.app_state import AppState
from server.db import after_commit
from server.effects import FollowUp, handles
from server.jobs.registry import TaskFunction, spec_for

log = structlog.get_logger("eventapi.jobs")

COALESCE_TTL = 60  # seconds; a queued job that never started stops blocking new ones


@dataclass(frozen=True)
class EnqueueJob:
    """After-commit effect: put a registered task on its queue."""

    function: str
    queue: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)
    job_id: str | None = None
    defer_until: datetime | None = None
    defer_by: float | None = None


def enqueue_after_commit(
    session: AsyncSession,
    fn: TaskFunction,
    *args: Any,
    job_id: str | None = None,
    defer_until: datetime | None = None,
    defer_by: float | None = None,
    **kwargs: Any,
) -> None:
    """Enqueue the task `fn` once the session's transaction commits; never if it rolls back.
    Arguments are checked against the registry now, so a typo fails in the caller."""
    spec = spec_for(fn)
    after_commit(
        session,
        EnqueueJob(spec.name, spec.queue, args, kwargs, job_id, defer_until, defer_by),
    )


async def enqueue(
    queue: ArqRedis,
    fn: TaskFunction,
    *args: Any,
    job_id: str | None = None,
    defer_until: datetime | None = None,
    defer_by: float | None = None,
    **kwargs: Any,
) -> bool:
    """Enqueue now. False when a job with `job_id` is already queued or running."""
    spec = spec_for(fn)
    job = await queue.enqueue_job(
        spec.name,
        *args,
        _job_id=job_id,
        _queue_name=spec.queue,
        _defer_until=defer_until,
        _defer_by=defer_by,
        **kwargs,
    )
    return job is not None


def _flag(key: str) -> str:
    return f"eventapi:coalesce:{key}"


async def enqueue_coalesced(queue: ArqRedis, fn: TaskFunction, *args: Any, key: str) -> bool:
    """Enqueue `fn` unless a job enqueued this way under `key` is still waiting to start.

    The job must call `coalesced_job_started(redis, key)` before it looks for work. That
    order is what makes it safe: a nudge that finds the flag set knows a job that has not
    yet looked for work is queued, and that job will see whatever the nudge was about."""
    if not await queue.set(_flag(key), b"1", nx=True, ex=COALESCE_TTL):
        return False
    try:
        return await enqueue(queue, fn, *args)
    except Exception:
        await queue.delete(_flag(key))
        raise


def enqueue_coalesced_in(
    pipe: Pipeline, queue: ArqRedis, fn: TaskFunction, *args: Any, key: str
) -> FollowUp:
    """`enqueue_coalesced` for an after-commit pipeline step (server.effects.in_pipeline):
    the flag is set with the commit's other Redis commands, in the same round trip; the
    returned follow-up enqueues the job only if this nudge was the one that set it."""
    pipe.set(_flag(key), b"1", nx=True, ex=COALESCE_TTL)

    async def enqueue_if_first(replies: list[Any]) -> None:
        if replies[0] is not True:
            return
        try:
            await enqueue(queue, fn, *args)
        except Exception:
            await queue.delete(_flag(key))
            raise

    return enqueue_if_first


async def coalesced_job_started(redis: Redis, key: str) -> None:
    await redis.delete(_flag(key))


@handles(EnqueueJob)
async def _enqueue_jobs(state: AppState, jobs: list[EnqueueJob]) -> None:
    if state.queue is None:
        log.warning("no job queue; jobs not enqueued", functions=[j.function for j in jobs])
        return
    for job in jobs:
        try:
            await state.queue.enqueue_job(
                job.function,
                *job.args,
                _job_id=job.job_id,
                _queue_name=job.queue,
                _defer_until=job.defer_until,
                _defer_by=job.defer_by,
                **job.kwargs,
            )
        except Exception:
            log.exception("could not enqueue a job after commit", function=job.function)
