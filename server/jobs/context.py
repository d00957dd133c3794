"""What a job function receives: the worker's long-lived resources plus facts about this
run. Resources are opened once per worker process (shared by its queues' workers)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

import httpx
from arq.connections import ArqRedis, RedisSettings, create_pool
from redis.asyncio import Redis

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.effects import EffectRunner
from server.jobs.resilient import job_redis_options

WEBHOOK_USER_AGENT = "eventapi-webhooks/1"


class WorkerResources:
    """The database, Redis, the job queue and an HTTP client for one worker process.

    The database gets the app's `EffectRunner`, so effects recorded by a transaction
    inside a job (cache invalidation, enqueues, live updates) run as they do for requests.
    `open`/`close` are reference-counted because every queue's worker calls them."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._users = 0
        self._lock = asyncio.Lock()
        self._state: AppState | None = None
        self._http: httpx.AsyncClient | None = None

    @property
    def state(self) -> AppState:
        if self._state is None:
            raise RuntimeError("worker resources are not open")
        return self._state

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            raise RuntimeError("worker resources are not open")
        return self._http

    async def open(self) -> None:
        async with self._lock:
            if self._state is not None:
                self._users += 1
                return
            settings = self.settings
            assert settings.database_url and settings.redis_url
            concurrency = settings.worker_concurrency
            options = job_redis_options()
            queue_settings = RedisSettings.from_dsn(settings.redis_url)
            queue_settings.conn_retries = 0  # the worker's own backoff waits for Redis
            queue_settings.retry, queue_settings.retry_on_error = (
                options["retry"],
                options["retry_on_error"],
            )
            queue = await create_pool(queue_settings)
            db = Database.from_settings(
                settings, pool_size=concurrency, max_overflow=concurrency * 3
            )
            redis = Redis.from_url(settings.redis_url, **options)
            await db.start(redis)
            state = AppState(settings=settings, db=db, redis=redis, queue=queue)
            EffectRunner(state).install(db)
            self._state = state
            self._http = new_http_client(settings)
            self._users = 1

    async def close(self) -> None:
        async with self._lock:
            self._users -= 1
            if self._users > 0 or self._state is None:
                return
            state, self._state = self._state, None
            if self._http is not None:
                await self._http.aclose()
                self._http = None
            await state.queue.aclose()
            await state.redis.aclose()
            await state.db.dispose()


def new_http_client(settings: Settings) -> httpx.AsyncClient:
    """Outbound HTTP for jobs: no redirects followed (a webhook receiver answering 3xx has
    not accepted the event), a per-attempt timeout, keep-alive to busy receivers."""
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.webhook_timeout),
        follow_redirects=False,
        limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
        headers={"user-agent": WEBHOOK_USER_AGENT},
        trust_env=False,
    )


@dataclass
class JobContext:
    """Passed as the first argument to every task and cron function."""

    state: AppState
    http: httpx.AsyncClient
    queue_name: str = ""
    function: str = ""
    job_id: str | None = None
    job_try: int = 1
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def db(self) -> Database:
        return self.state.db

    @property
    def redis(self) -> Redis:
        return self.state.redis

    @property
    def queue(self) -> ArqRedis:
        queue: ArqRedis = self.state.queue
        return queue
