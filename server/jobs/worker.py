"""ARQ worker settings: one worker per queue, so slow report builds never delay mail or
webhook deliveries. `eventapi worker` runs them all; the embedded default runs them in the
app process."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import structlog
from arq.connections import RedisSettings
from arq.worker import Worker

from server.config import Settings
from server.jobs import queues

log = structlog.get_logger("eventapi.worker")


async def noop(ctx: dict[str, Any]) -> None:
    """Keeps a queue's worker valid while it has no other task registered."""


def functions_for(queue: str) -> list[Any]:
    return [noop]


def cron_jobs_for(queue: str) -> list[Any]:
    return []


def build_workers(settings: Settings, *, only: Sequence[str] | None = None) -> list[Worker]:
    assert settings.redis_url is not None
    redis_settings = RedisSettings.from_dsn(settings.redis_url)
    workers = []
    for queue in only or queues.QUEUES:
        workers.append(
            Worker(
                functions=functions_for(queue),
                cron_jobs=cron_jobs_for(queue),
                queue_name=queue,
                redis_settings=redis_settings,
                max_jobs=settings.worker_concurrency,
                health_check_interval=queues.HEALTH_CHECK_INTERVAL,
                handle_signals=False,
                ctx={"settings": settings},
                on_startup=_startup,
                on_shutdown=_shutdown,
            )
        )
    return workers


async def _startup(ctx: dict[str, Any]) -> None:
    from redis.asyncio import Redis

    from server.db import Database

    settings: Settings = ctx["settings"]
    assert settings.database_url and settings.redis_url
    ctx["db"] = Database(settings.database_url, pool_size=5, max_overflow=5)
    ctx["redis"] = Redis.from_url(settings.redis_url)


async def _shutdown(ctx: dict[str, Any]) -> None:
    await ctx["db"].dispose()
    await ctx["redis"].aclose()


class WorkerGroup:
    """Runs several ARQ workers as tasks of the current event loop."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.tasks = [asyncio.create_task(w.main()) for w in self.workers]

    async def stop(self) -> None:
        for worker in self.workers:
            await worker.close()
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)

    async def run_forever(self) -> None:
        self.start()
        try:
            await asyncio.gather(*self.tasks)
        finally:
            await self.stop()
