"""An ARQ worker that rides out Redis restarts instead of dying with the first
`ConnectionError`.

ARQ's own `Worker.main` lets any Redis error end the worker: `eventapi worker` exits and
the in-process workers of `eventapi serve` stop without a word. This worker waits for
Redis with exponential backoff and carries on where it was:
  - connecting, the first startup, a poll and a heartbeat that fail are tried again
    (the first heartbeat after an outage is written at once, so `/health` recovers on
    the next poll);
  - recording the end of a job that has run is retried until Redis answers, so a job that
    finished during an outage is not run again (if Redis stays away longer than the job's
    in-progress lock, the job runs again later: every job is idempotent);
  - a job whose start fails (reading its definition) has not run: its in-progress lock
    is released once Redis is back, so it starts at once rather than after the lock
    expires;
  - a claim that fails halfway gives its concurrency slot back.
Cron runs that fall inside an outage are skipped; the next scheduled run is the retry."""

from __future__ import annotations

import asyncio
import contextlib
import random
import signal
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from arq.connections import create_pool, log_redis_info
from arq.constants import in_progress_key_prefix
from arq.utils import poll
from arq.worker import Worker
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.exceptions import WatchError

from server.jobs import metrics
from server.unavailable import REDIS_UNREACHABLE

log = structlog.get_logger("eventapi.worker")

T = TypeVar("T")

# What a Redis that is restarting or unreachable raises (BusyLoadingError, Redis still
# reading its append-only file, is a ConnectionError), and a socket error ARQ lets through.
REDIS_DOWN: tuple[type[BaseException], ...] = (*REDIS_UNREACHABLE, OSError)
# A connection lost while a claim watches the job's lock surfaces as a WatchError.
CLAIM_FAILED: tuple[type[BaseException], ...] = (*REDIS_DOWN, WatchError)


# Redis clients used by jobs retry each command for about this long, so that a job
# running across a short restart carries on instead of failing a try.
JOB_COMMAND_RETRIES = 30


def job_redis_options() -> dict[str, Any]:
    """`Redis(...)` options for the clients jobs use: retry a command while Redis is
    restarting (about 25 s: 0.1 s, 0.2 s, ... then every second)."""
    return {
        "retry": Retry(ExponentialBackoff(cap=1.0, base=0.05), JOB_COMMAND_RETRIES),
        "retry_on_error": [RedisConnectionError, RedisTimeoutError],
    }


class Backoff:
    """Exponential backoff with jitter: the n-th delay in a row is between half and all of
    `base * 2^(n-1)`, capped at `cap` seconds."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next_delay(self) -> float:
        self.failures += 1
        delay = min(self.cap, self.base * 2 ** (self.failures - 1))
        return delay / 2 + random.uniform(0, delay / 2)

    def reset(self) -> None:
        self.failures = 0


class ResilientWorker(Worker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._outage = Backoff()
        self._started = False
        self._closing = False

    @property
    def short_name(self) -> str:
        return self.queue_name.split(":", 1)[-1]

    async def main(self) -> None:
        while True:
            try:
                await self._connect_and_start()
                await self._serve()
                return  # a burst worker found its queue empty
            except REDIS_DOWN as exc:
                await self._wait_for_redis(exc)

    async def _connect_and_start(self) -> None:
        if self._pool is None:
            assert self.redis_settings is not None
            self._pool = await create_pool(
                self.redis_settings,
                job_deserializer=self.job_deserializer,
                job_serializer=self.job_serializer,
                default_queue_name=self.queue_name,
                expires_extra_ms=self.expires_extra_ms,
            )
        if self._started:
            return
        await log_redis_info(self.pool, log.info)
        self.ctx["redis"] = self.pool
        if self.on_startup:
            await self.on_startup(self.ctx)
        self._started = True

    async def _serve(self) -> None:
        async for _ in poll(self.poll_delay_s):
            await self._poll_iteration()
            if self._outage.failures:
                log.info("redis is back; worker resumed", queue=self.short_name)
                self._outage.reset()
            if self.burst:
                if 0 <= self.max_burst_jobs <= self._jobs_started():
                    await asyncio.gather(*self.tasks.values())
                    return
                if await self.pool.zcard(self.queue_name) == 0:
                    await asyncio.gather(*self.tasks.values())
                    return

    async def _wait_for_redis(self, exc: BaseException) -> None:
        if not self._outage.failures:
            log.warning(
                "redis unavailable; worker waiting to reconnect",
                queue=self.short_name,
                error=f"{type(exc).__name__}: {exc}",
            )
            metrics.redis_outages.labels(self.short_name).inc()
        # The first heartbeat after the outage goes out on the first poll that works.
        self._last_health_check = 0
        await asyncio.sleep(self._outage.next_delay())

    async def _until_redis_answers(self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run `operation`, again and again while Redis is down, for as long as the job's
        in-progress lock would keep another worker from running it (after that, running it
        again is the other worker's business) or until this worker closes."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.in_progress_timeout_s
        backoff = Backoff()
        while True:
            try:
                return await operation()
            except REDIS_DOWN:
                if self._closing or loop.time() > deadline:
                    raise
                await asyncio.sleep(backoff.next_delay())

    async def start_jobs(self, job_ids: list[bytes]) -> None:
        try:
            await super().start_jobs(job_ids)
        except CLAIM_FAILED as exc:
            # The job being claimed took a concurrency slot that no task will give back.
            self._release_sem_dec_counter_on_complete()
            raise RedisConnectionError(f"claiming a job: {exc}") from exc

    async def run_job(self, job_id: str, score: int) -> None:
        try:
            await super().run_job(job_id, score)
        except REDIS_DOWN:
            # Only the reads before the function starts get here (the finish is retried and
            # never raises them), so the job has not run: let another poll start it.
            log.warning("job not started, redis unavailable", queue=self.short_name, job_id=job_id)
            with contextlib.suppress(*REDIS_DOWN):
                await self._until_redis_answers(
                    lambda: self.pool.delete(in_progress_key_prefix + job_id)
                )

    async def finish_job(self, job_id: str, *args: Any) -> None:
        finish = super().finish_job
        try:
            await self._until_redis_answers(lambda: finish(job_id, *args))
        except REDIS_DOWN:
            log.error(
                "could not record the end of a job; it will run again",
                queue=self.short_name,
                job_id=job_id,
            )

    async def finish_failed_job(self, job_id: str, result_data: bytes | None) -> None:
        finish = super().finish_failed_job
        try:
            await self._until_redis_answers(lambda: finish(job_id, result_data))
        except REDIS_DOWN:
            log.error("could not record the failure of a job", queue=self.short_name, job_id=job_id)

    async def close(self) -> None:
        """ARQ's close, except that a Redis that is down does not stop the shutdown (the
        heartbeat then expires by itself) and resources are released only if acquired."""
        self._closing = True
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)  # as ARQ does: logs the counts, cancels jobs
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pool.delete(self.health_check_key)
        if self.on_shutdown and self._started:
            await self.on_shutdown(self.ctx)
        with contextlib.suppress(*REDIS_DOWN):
            await self.pool.aclose(close_connection_pool=True)
        self._pool = None
