"""The app's /health reports each queue (worker heartbeat, backlog, oldest wait) and its
/metrics carries the job metrics of workers running in the app process."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from server.app_state import AppState
from server.config import Settings
from server.jobs import queues
from server.jobs.enqueue import enqueue
from server.jobs.worker import WorkerGroup, build_workers
from tests.server.jobs import tasks


async def test_health_reports_queues_without_workers_as_unavailable(
    client: httpx.AsyncClient, state: AppState
) -> None:
    await enqueue(state.queue, tasks.mark, "waiting")

    response = await client.get("/health")

    body = response.json()
    assert response.status_code == 503
    queue = body["checks"]["queue"]
    assert queue["ok"] is False
    assert queue["queues"]["reports"]["worker"] is False
    assert queue["queues"]["reports"]["pending"] == 1
    assert queue["queues"]["reports"]["due"] == 1
    assert queue["queues"]["mail"] == {
        "worker": False,
        "pending": 0,
        "due": 0,
        "oldest_due_seconds": 0.0,
    }


async def test_in_process_workers_show_in_health_and_metrics(
    client: httpx.AsyncClient, settings: Settings, redis: Redis, state: AppState
) -> None:
    group = WorkerGroup(build_workers(settings))
    group.start()
    try:
        for queue in queues.QUEUES:
            while not await redis.exists(queues.health_key(queue)):
                await asyncio.sleep(0.02)
        await enqueue(state.queue, tasks.mark, "later", defer_by=3600)
        await enqueue(state.queue, tasks.mark, "metered")
        while await redis.zcard(tasks.QUEUE) != 1:  # until "metered" has run and left
            await asyncio.sleep(0.02)
        await group.record_depth()
        health = await client.get("/health")
        metrics = (await client.get("/metrics")).text
    finally:
        await group.stop()

    assert health.status_code == 200
    assert health.json()["checks"]["queue"]["ok"] is True
    assert 'eventapi_jobs_succeeded_total{function="test.mark",queue="reports"}' in metrics
    assert 'eventapi_job_duration_seconds_count{function="test.mark",queue="reports"}' in metrics
    assert 'eventapi_queue_depth{queue="reports"} 1.0' in metrics
    assert 'eventapi_queue_depth{queue="mail"} 0.0' in metrics
