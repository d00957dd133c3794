"""The job system: retries with backoff, dead letters, timeouts, a try lost with its
worker, enqueueing after commit, metrics. Real ARQ workers on the test Redis."""

from __future__ import annotations

import asyncio

from arq.connections import ArqRedis
from prometheus_client import REGISTRY
from redis.asyncio import Redis
from sqlalchemy import select

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.jobs import queues
from server.jobs.enqueue import enqueue, enqueue_after_commit
from server.jobs.models import JobDeadLetter
from server.jobs.registry import registered_tasks
from server.jobs.worker import WorkerGroup, build_workers
from tests.server.jobs import tasks
from tests.support.jobs import run_jobs


def counter(name: str, function: str) -> float:
    value = REGISTRY.get_sample_value(name, {"queue": "reports", "function": function})
    return value or 0.0


async def dead_letters(db: Database) -> list[JobDeadLetter]:
    async with db.read() as session:
        return list(await session.scalars(select(JobDeadLetter).order_by(JobDeadLetter.created_at)))


async def runs(redis: Redis, key: str) -> int:
    return int(await redis.get(f"test:{key}:runs") or 0)


async def test_a_failing_job_is_retried_until_it_succeeds(
    settings: Settings, state: AppState, redis: Redis, db: Database
) -> None:
    retried = counter("eventapi_jobs_retried_total", "test.flaky")
    succeeded = counter("eventapi_jobs_succeeded_total", "test.flaky")
    await enqueue(state.queue, tasks.flaky, "flaky", 2)

    await run_jobs(settings, redis, only=[tasks.QUEUE])

    assert await runs(redis, "flaky") == 3
    assert await redis.get("test:flaky:done") == b"3"  # succeeded on its third try
    assert counter("eventapi_jobs_retried_total", "test.flaky") == retried + 2
    assert counter("eventapi_jobs_succeeded_total", "test.flaky") == succeeded + 1
    assert await dead_letters(db) == []


async def test_a_job_that_fails_every_try_becomes_a_dead_letter(
    settings: Settings, state: AppState, redis: Redis, db: Database
) -> None:
    failed = counter("eventapi_jobs_failed_total", "test.broken")
    job = await state.queue.enqueue_job(
        "test.broken", "broken", _queue_name=tasks.QUEUE, reason="no disk"
    )

    await run_jobs(settings, redis, only=[tasks.QUEUE])

    assert await runs(redis, "broken") == 3
    [letter] = await dead_letters(db)
    assert (letter.queue, letter.function, letter.tries) == (tasks.QUEUE, "test.broken", 3)
    assert letter.job_id == job.job_id
    assert letter.error == "ValueError: no disk"
    assert letter.arguments == {"args": ["broken"], "kwargs": {"reason": "no disk"}}
    assert counter("eventapi_jobs_failed_total", "test.broken") == failed + 1


async def test_a_job_over_its_timeout_fails_and_is_retried(
    settings: Settings, state: AppState, redis: Redis, db: Database
) -> None:
    await enqueue(state.queue, tasks.slow, "slow")

    await run_jobs(settings, redis, only=[tasks.QUEUE])

    assert await runs(redis, "slow") == 2
    [letter] = await dead_letters(db)
    assert (letter.function, letter.error, letter.tries) == ("test.slow", "timed out after 0.2s", 2)


async def test_a_last_try_lost_with_its_worker_is_dead_lettered_not_dropped(
    settings: Settings, state: AppState, redis: Redis, db: Database
) -> None:
    """ARQ starts a job again when the worker running it died; when that was the last try,
    the job is recorded as a dead letter instead of silently disappearing."""
    queue: ArqRedis = state.queue
    max_tries = registered_tasks()["test.mark"].max_tries
    await queue.enqueue_job("test.mark", "lost", _queue_name=tasks.QUEUE, _job_try=max_tries + 1)

    await run_jobs(settings, redis, only=[tasks.QUEUE])

    assert await runs(redis, "lost") == 0
    [letter] = await dead_letters(db)
    assert letter.function == "test.mark"
    assert letter.tries == max_tries
    assert "stopped before it finished" in letter.error


async def test_enqueue_after_commit_enqueues_only_committed_work(
    settings: Settings, redis: Redis, db: Database
) -> None:
    try:
        async with db.transaction() as session:
            enqueue_after_commit(session, tasks.mark, "rolled-back")
            raise RuntimeError("abort")
    except RuntimeError:
        pass
    async with db.transaction() as session:
        enqueue_after_commit(session, tasks.mark, "committed")

    assert await redis.zcard(tasks.QUEUE) == 1
    await run_jobs(settings, redis, only=[tasks.QUEUE])
    assert (await runs(redis, "committed"), await runs(redis, "rolled-back")) == (1, 0)


async def test_enqueueing_an_unregistered_function_fails_in_the_caller(db: Database) -> None:
    async def not_a_task() -> None: ...

    async with db.transaction() as session:
        try:
            enqueue_after_commit(session, not_a_task)
        except LookupError as exc:
            assert "not a registered task" in str(exc)
        else:
            raise AssertionError("expected LookupError")


async def test_stopping_workers_mid_job_puts_the_job_back_on_its_queue(
    settings: Settings, state: AppState, redis: Redis
) -> None:
    await enqueue(state.queue, tasks.sleepy, "stopped", 30)
    group = WorkerGroup(build_workers(settings, only=[tasks.QUEUE]))
    group.start()
    while await runs(redis, "stopped") == 0:
        await asyncio.sleep(0.02)

    await group.stop(grace=0.1)

    assert await redis.zcard(tasks.QUEUE) == 1
    assert not await redis.exists(queues.health_key(tasks.QUEUE))
    await run_jobs(settings, redis, only=[tasks.QUEUE])
    assert await redis.get("test:stopped:done") == b"2"
