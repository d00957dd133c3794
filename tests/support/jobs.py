"""Running background jobs in tests: call a task function directly with a `JobContext`
built on the test app's state, or run real ARQ workers (burst mode, in this process)
until the queues are empty."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from redis.asyncio import Redis

from server.app_state import AppState
from server.config import Settings
from server.jobs import queues
from server.jobs.context import JobContext, new_http_client
from server.jobs.worker import WorkerGroup, build_workers


@asynccontextmanager
async def job_context(
    state: AppState, settings: Settings | None = None
) -> AsyncIterator[JobContext]:
    """A context like a worker's, on the test app's database and Redis (and `settings`,
    when a test needs others than the app's)."""
    used = (
        state
        if settings is None
        else AppState(settings=settings, db=state.db, redis=state.redis, queue=state.queue)
    )
    async with new_http_client(used.settings) as http:
        yield JobContext(state=used, http=http)


async def run_jobs(
    settings: Settings,
    redis: Redis,
    *,
    only: Sequence[str] = queues.QUEUES,
    rounds: int = 20,
    timeout: float = 60,
) -> None:
    """Run burst workers for `only` until every one of those queues is empty (a job on one
    queue may enqueue on another, hence the rounds)."""
    for _ in range(rounds):
        group = WorkerGroup(build_workers(settings, only=only, burst=True))
        await asyncio.wait_for(group.run_forever(), timeout)
        if all(await asyncio.gather(*(_empty(redis, q) for q in only))):
            return
    raise AssertionError(f"queues still busy after {rounds} rounds")


async def _empty(redis: Redis, queue: str) -> bool:
    return int(await redis.zcard(queue)) == 0
