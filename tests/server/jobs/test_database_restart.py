"""A real PostgreSQL stopped under a worker that is running a job: the job is not failed,
its tries are not spent however long the outage lasts, and it runs to completion once
PostgreSQL is back, without restarting the worker."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis

from server.app_state import AppState
from server.config import Settings
from server.jobs.enqueue import enqueue
from server.jobs.worker import WorkerGroup, build_workers
from tests.server.jobs import tasks
from tests.server.jobs.test_redis_restart import eventually
from tests.server.jobs.test_registry import counter, runs
from tests.support.own_servers import own_postgres_server


async def test_a_job_waits_out_a_database_outage_without_spending_its_tries(
    make_settings: Callable[..., Settings], state: AppState, redis: Redis
) -> None:
    failed = counter("eventapi_jobs_failed_total", "test.reads_database")
    retried = counter("eventapi_jobs_retried_total", "test.reads_database")
    with own_postgres_server() as postgres:
        settings = make_settings(database_url=postgres.url)
        postgres.stop()
        await enqueue(state.queue, tasks.reads_database, "outage")
        group = WorkerGroup(build_workers(settings, only=[tasks.QUEUE]))
        group.start()
        try:

            async def tried_past_its_limit() -> Any:
                return await runs(redis, "outage") > 2 * tasks.reads_database_max_tries

            await eventually(tried_past_its_limit, "the job tried while PostgreSQL was down")
            during = await redis.get("test:outage:done")
            postgres.start()

            async def done() -> bool:
                return bool(await redis.exists("test:outage:done"))

            await eventually(done, "the job done once PostgreSQL is back")
        finally:
            await group.stop()

    assert during is None
    assert await redis.get("test:outage:done") == b"1"  # every try given back: still the first
    assert counter("eventapi_jobs_failed_total", "test.reads_database") == failed
    assert counter("eventapi_jobs_retried_total", "test.reads_database") >= retried + 4
