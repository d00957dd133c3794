"""ARQ worker settings: one worker per queue, so slow report builds never delay mail or
webhook deliveries. `eventapi worker` runs them all; the embedded default runs them in the
app process.

Tasks and crons come from the registry (`server.jobs.registry`), filled by the modules in
`server.jobs.modules.TASK_MODULES`; nothing here changes when a domain adds a job."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Sequence
from typing import Any

import structlog
from arq.connections import RedisSettings
from prometheus_client import start_http_server

from server.config import Settings
from server.jobs import metrics, queues
from server.jobs.context import WorkerResources
from server.jobs.modules import load_task_modules
from server.jobs.registry import RESOURCES_KEY, cron_jobs_for, functions_for
from server.jobs.resilient import ResilientWorker

log = structlog.get_logger("eventapi.worker")

POLL_DELAY = 0.05  # seconds between queue polls when idle: how soon a new job starts
DEPTH_INTERVAL = 5.0  # seconds between queue depth gauge updates
STOP_GRACE = 5.0  # seconds running jobs get to finish when the workers stop


async def noop(ctx: dict[str, Any]) -> None:
    """Keeps a queue's worker valid while it has no other task registered."""


def build_workers(
    settings: Settings, *, only: Sequence[str] | None = None, burst: bool = False
) -> list[ResilientWorker]:
    """One ARQ worker per queue, sharing one set of resources (database, Redis, HTTP).
    `burst` workers stop once their queue is empty (tests, one-off runs). A worker that
    loses Redis waits for it and carries on (`server.jobs.resilient`)."""
    assert settings.redis_url is not None
    load_task_modules()
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    redis_settings.conn_retries = 0  # the worker's own backoff waits for Redis
    resources = WorkerResources(settings)
    workers = []
    for queue in only or queues.QUEUES:
        workers.append(
            ResilientWorker(
                functions=[noop, *functions_for(queue, settings)],
                cron_jobs=cron_jobs_for(queue, settings),
                queue_name=queue,
                redis_settings=redis_settings,
                max_jobs=settings.worker_concurrency,
                job_timeout=settings.job_timeout,
                keep_result=0,
                poll_delay=POLL_DELAY,
                health_check_interval=queues.HEALTH_CHECK_INTERVAL,
                handle_signals=False,
                burst=burst,
                ctx={"settings": settings, RESOURCES_KEY: resources},
                on_startup=_startup,
                on_shutdown=_shutdown,
            )
        )
    return workers


async def _startup(ctx: dict[str, Any]) -> None:
    resources: WorkerResources = ctx[RESOURCES_KEY]
    await resources.open()
    ctx["db"] = resources.state.db


async def _shutdown(ctx: dict[str, Any]) -> None:
    resources: WorkerResources = ctx[RESOURCES_KEY]
    await resources.close()


class WorkerGroup:
    """Runs several ARQ workers as tasks of the current event loop, and keeps the queue
    depth gauge current."""

    def __init__(self, workers: list[ResilientWorker]) -> None:
        self.workers = workers
        self.tasks: list[asyncio.Task[None]] = []
        self._depth_task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.tasks = [asyncio.create_task(w.main()) for w in self.workers]
        self._depth_task = asyncio.create_task(self._track_depth())

    async def stop(self, grace: float = STOP_GRACE) -> None:
        """Stop polling, give running jobs `grace` seconds to finish, cancel the rest (ARQ
        puts a cancelled job back on its queue), then close each worker."""
        if self._depth_task is not None:
            self._depth_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._depth_task
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        running = [t for w in self.workers for t in w.tasks.values() if not t.done()]
        if running:
            await asyncio.wait(running, timeout=grace)
        for worker in self.workers:
            jobs = list(worker.tasks.values())
            for job in jobs:
                job.cancel()
            await asyncio.gather(*jobs, return_exceptions=True)
            # ARQ's close() awaits these again and would re-raise their cancellation.
            worker.tasks.clear()
            await worker.close()

    async def run_forever(self) -> None:
        """Run until cancelled (burst workers: until each has found its queue empty)."""
        self.start()
        try:
            await asyncio.gather(*self.tasks)
        finally:
            await self.stop()

    async def record_depth(self) -> None:
        """Set the queue depth gauge from Redis, for each queue this group serves."""
        for worker in self.workers:
            pool = worker._pool  # None until the worker has connected
            if pool is None:
                continue
            try:
                depth = await pool.zcard(worker.queue_name)
            except Exception:  # a Redis hiccup must not end the tracker
                log.debug("could not read the queue depth", queue=worker.queue_name)
                continue
            metrics.queue_depth.labels(worker.queue_name.split(":", 1)[-1]).set(depth)

    async def _track_depth(self) -> None:
        while True:
            await asyncio.sleep(DEPTH_INTERVAL)
            await self.record_depth()


async def run_worker_process(
    settings: Settings,
    *,
    only: Sequence[str] | None = None,
    metrics_port: int | None = None,
    metrics_host: str = "0.0.0.0",  # noqa: S104 - scraped from other hosts
) -> None:
    """`eventapi worker`: run the workers until SIGTERM or SIGINT, then stop gracefully
    (jobs in flight are cancelled and go back on their queue). With `metrics_port`, the
    process serves its own Prometheus metrics, since a worker process has no app to ask.
    The workers are built here, inside the running loop, which ARQ schedules jobs on."""
    group = WorkerGroup(build_workers(settings, only=only))
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host)
        log.info("worker metrics", url=f"http://{metrics_host}:{metrics_port}/metrics")
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    assert main is not None
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, main.cancel)
    log.info("worker started", queues=[w.queue_name for w in group.workers])
    try:
        await group.run_forever()
    except asyncio.CancelledError:
        log.info("worker stopped")
