"""The task registry: domains declare their background functions here, per queue, without
touching the worker settings.

    from server.jobs import queues
    from server.jobs.registry import cron, task

    @task(queue=queues.MAIL, max_tries=5)
    async def send_receipt(ctx: JobContext, order_id: str) -> None: ...

    @cron(queue=queues.MAINTENANCE, second={0, 30})
    async def expire_holds(ctx: JobContext) -> None: ...

Add the module to `server.jobs.modules.TASK_MODULES` so the worker imports it.

Every task run goes through `_run`: a timeout of its own, metrics, and retries with
exponential backoff (ARQ `Retry`). A task that fails on its last try is written to the
`job_dead_letters` table. ARQ is given one try more than the task's `max_tries`: when a
worker dies during the last try, ARQ starts that extra try, and `_run` records the dead
letter instead of running the task again (ARQ alone would drop the job silently)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from arq.constants import retry_key_prefix
from arq.cron import CronJob
from arq.cron import cron as arq_cron
from arq.worker import Function, Retry
from arq.worker import func as arq_func

from server.config import Settings
from server.jobs import metrics
from server.jobs.context import JobContext, WorkerResources
from server.jobs.dead_letters import record_dead_letter
from server.unavailable import RETRY_AFTER, outage_of

log = structlog.get_logger("eventapi.jobs")

TaskFunction = Callable[..., Awaitable[Any]]
F = TypeVar("F", bound=TaskFunction)

RESOURCES_KEY = "eventapi_resources"
# ARQ's own timeout is a backstop a little later than ours, so ours is the one that fires
# and the run is counted (and retried) as a failure.
ARQ_TIMEOUT_GRACE = 1.0
# How soon a job that met an unreachable PostgreSQL runs again: its own first retry delay,
# within these bounds (seconds).
OUTAGE_RETRY_MIN = 0.5
OUTAGE_RETRY_MAX = float(RETRY_AFTER)


@dataclass(frozen=True)
class TaskSpec:
    name: str
    fn: TaskFunction
    queue: str
    max_tries: int
    timeout: float | None  # None: JOB_TIMEOUT
    retry_delay: float  # before the second try; doubles each try after that
    retry_max_delay: float

    def backoff(self, job_try: int) -> float:
        """Exponential backoff with jitter (between half and all of the exponential delay),
        so a burst of failures does not come back as a burst of retries."""
        delay = min(self.retry_max_delay, self.retry_delay * 2 ** (job_try - 1))
        return delay / 2 + random.uniform(0, delay / 2)


@dataclass(frozen=True)
class CronSpec:
    name: str
    fn: TaskFunction
    queue: str
    timeout: float | None
    month: Any = None
    day: Any = None
    weekday: Any = None
    hour: Any = None
    minute: Any = None
    second: Any = 0
    run_at_startup: bool = False


_tasks: dict[str, TaskSpec] = {}
_by_function: dict[TaskFunction, TaskSpec] = {}
_crons: dict[str, CronSpec] = {}


def _default_name(fn: TaskFunction) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def task(
    *,
    queue: str,
    name: str | None = None,
    max_tries: int = 5,
    timeout: float | None = None,
    retry_delay: float = 5.0,
    retry_max_delay: float = 600.0,
) -> Callable[[F], F]:
    """Register `fn(ctx: JobContext, *args)` as a job on `queue`. Arguments must pickle;
    pass ids rather than rows, and re-check state in the job: it may run more than once."""

    def register(fn: F) -> F:
        spec = TaskSpec(
            name=name or _default_name(fn),
            fn=fn,
            queue=queue,
            max_tries=max_tries,
            timeout=timeout,
            retry_delay=retry_delay,
            retry_max_delay=retry_max_delay,
        )
        existing = _tasks.get(spec.name)
        if existing is not None and existing.fn is not fn:
            raise ValueError(f"a task named {spec.name!r} is already registered")
        _tasks[spec.name] = spec
        _by_function[fn] = spec
        return fn

    return register


def cron(
    *,
    queue: str,
    name: str | None = None,
    timeout: float | None = None,
    month: Any = None,
    day: Any = None,
    weekday: Any = None,
    hour: Any = None,
    minute: Any = None,
    second: Any = 0,
    run_at_startup: bool = False,
) -> Callable[[F], F]:
    """Run `fn(ctx: JobContext)` on a schedule (ARQ cron fields: sets of values, None for
    every). With several workers, each scheduled time runs once. A failed run is logged and
    counted; the next scheduled run is the retry."""

    def register(fn: F) -> F:
        spec = CronSpec(
            name=name or f"cron:{_default_name(fn)}",
            fn=fn,
            queue=queue,
            timeout=timeout,
            month=month,
            day=day,
            weekday=weekday,
            hour=hour,
            minute=minute,
            second=second,
            run_at_startup=run_at_startup,
        )
        _crons[spec.name] = spec
        return fn

    return register


def spec_for(fn: TaskFunction) -> TaskSpec:
    try:
        return _by_function[fn]
    except KeyError:
        raise LookupError(f"{_default_name(fn)} is not a registered task") from None


def registered_tasks() -> dict[str, TaskSpec]:
    return dict(_tasks)


def registered_crons() -> dict[str, CronSpec]:
    return dict(_crons)


def _context(ctx: dict[str, Any], queue: str, function: str) -> JobContext:
    resources: WorkerResources = ctx[RESOURCES_KEY]
    return JobContext(
        state=resources.state,
        http=resources.http,
        queue_name=queue,
        function=function,
        job_id=ctx.get("job_id"),
        job_try=int(ctx.get("job_try") or 1),
    )


def _short(queue: str) -> str:
    return queue.split(":", 1)[-1]


async def _run(
    spec: TaskSpec, time_limit: float, ctx: dict[str, Any], args: Any, kwargs: Any
) -> Any:
    job = _context(ctx, spec.queue, spec.name)
    labels = (_short(spec.queue), spec.name)
    if job.job_try > spec.max_tries:
        metrics.jobs_failed.labels(*labels).inc()
        await record_dead_letter(
            job.db,
            queue=spec.queue,
            function=spec.name,
            job_id=job.job_id,
            args=args,
            kwargs=kwargs,
            error="the worker running the last try stopped before it finished",
            tries=job.job_try - 1,
        )
        return None
    metrics.jobs_started.labels(*labels).inc()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(time_limit):
            result = await spec.fn(job, *args, **kwargs)
    except Exception as exc:
        metrics.job_duration.labels(*labels).observe(time.perf_counter() - started)
        if outage_of(exc) == "database":
            raise await _wait_for_database(ctx, spec, job) from exc
        error = _describe(exc, time_limit)
        if job.job_try < spec.max_tries:
            metrics.jobs_retried.labels(*labels).inc()
            defer = exc.defer_score / 1000 if isinstance(exc, Retry) and exc.defer_score else None
            defer = defer if defer is not None else spec.backoff(job.job_try)
            log.warning(
                "job failed, will retry",
                function=spec.name,
                job_id=job.job_id,
                job_try=job.job_try,
                retry_in=round(defer, 3),
                error=error,
            )
            raise Retry(defer=defer) from exc
        metrics.jobs_failed.labels(*labels).inc()
        log.error("job failed on its last try", function=spec.name, job_id=job.job_id, error=error)
        await record_dead_letter(
            job.db,
            queue=spec.queue,
            function=spec.name,
            job_id=job.job_id,
            args=args,
            kwargs=kwargs,
            error=error,
            tries=job.job_try,
        )
        raise
    metrics.job_duration.labels(*labels).observe(time.perf_counter() - started)
    metrics.jobs_succeeded.labels(*labels).inc()
    return result


async def _wait_for_database(ctx: dict[str, Any], spec: TaskSpec, job: JobContext) -> Retry:
    """PostgreSQL being unreachable is not the task failing: the try is given back (ARQ
    counts tries in Redis, one more at each start) and the job runs again shortly, so an
    outage of any length neither spends a job's tries nor sends it to the dead letters
    (which are in PostgreSQL too). Every task is idempotent, so running it again is safe."""
    if job.job_id:
        await ctx["redis"].decr(retry_key_prefix + job.job_id)
    defer = min(OUTAGE_RETRY_MAX, max(OUTAGE_RETRY_MIN, spec.retry_delay))
    metrics.jobs_retried.labels(_short(spec.queue), spec.name).inc()
    log.warning(
        "database unavailable; job will run again",
        function=spec.name,
        job_id=job.job_id,
        job_try=job.job_try,
        retry_in=defer,
    )
    return Retry(defer=defer)


async def _run_cron(spec: CronSpec, time_limit: float, ctx: dict[str, Any]) -> None:
    job = _context(ctx, spec.queue, spec.name)
    labels = (_short(spec.queue), spec.name)
    metrics.jobs_started.labels(*labels).inc()
    started = time.perf_counter()
    try:
        async with asyncio.timeout(time_limit):
            await spec.fn(job)
    except Exception as exc:
        metrics.jobs_failed.labels(*labels).inc()
        if outage_of(exc) is not None:
            # The next scheduled run is the retry; the statement it was running says nothing.
            log.warning("cron run skipped: a service is unavailable", function=spec.name)
        else:
            log.error("cron job failed", function=spec.name, error=_describe(exc, time_limit))
    else:
        metrics.jobs_succeeded.labels(*labels).inc()
    finally:
        metrics.job_duration.labels(*labels).observe(time.perf_counter() - started)


def _describe(exc: BaseException, time_limit: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"timed out after {time_limit:g}s"
    if isinstance(exc, Retry):
        return "the task asked to be retried after its last try"
    return f"{type(exc).__name__}: {exc}"[:2000]


def _arq_task(spec: TaskSpec, timeout: float) -> Function:
    async def run(ctx: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        return await _run(spec, timeout, ctx, args, kwargs)

    return arq_func(
        run,
        name=spec.name,
        max_tries=spec.max_tries + 1,
        timeout=timeout + ARQ_TIMEOUT_GRACE,
        keep_result=0,
    )


def _arq_cron(spec: CronSpec, timeout: float) -> CronJob:
    async def run(ctx: dict[str, Any]) -> None:
        await _run_cron(spec, timeout, ctx)

    return arq_cron(
        run,
        name=spec.name,
        month=spec.month,
        day=spec.day,
        weekday=spec.weekday,
        hour=spec.hour,
        minute=spec.minute,
        second=spec.second,
        run_at_startup=spec.run_at_startup,
        timeout=timeout + ARQ_TIMEOUT_GRACE,
        max_tries=1,
    )


def functions_for(queue: str, settings: Settings) -> list[Function]:
    """ARQ function definitions for the tasks registered on `queue`."""
    return [
        _arq_task(spec, spec.timeout or settings.job_timeout)
        for spec in _tasks.values()
        if spec.queue == queue
    ]


def cron_jobs_for(queue: str, settings: Settings) -> list[CronJob]:
    return [
        _arq_cron(spec, spec.timeout or settings.job_timeout)
        for spec in _crons.values()
        if spec.queue == queue
    ]
