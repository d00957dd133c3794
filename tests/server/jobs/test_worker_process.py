"""`eventapi worker` as its own process: it serves every queue, delivers what the app's
commits nudge it to, exposes its metrics on a port, reports to /health, and stops cleanly
on SIGTERM."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis

from server.jobs import queues
from tests.server.webhooks.conftest import Hooks
from tests.server.webhooks.receiver import Receiver
from tests.support.jobs import WorkerProcess
from tests.support.live import free_port
from tests.support.services import ServiceUrls


async def scrape(port: int) -> str:
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                return (await client.get(f"http://127.0.0.1:{port}/metrics")).text
            except httpx.ConnectError:
                await asyncio.sleep(0.1)
    raise AssertionError("no metrics endpoint")


@pytest.mark.slow
async def test_a_worker_process_delivers_reports_and_stops_cleanly(
    services: ServiceUrls,
    tmp_path: Path,
    redis: Redis,
    hooks: Hooks,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    port = free_port()
    endpoint = await hooks.endpoint(receiver.url)
    worker = WorkerProcess(services, tmp_path, worker_metrics_port=str(port))
    try:
        for queue in queues.QUEUES:
            await worker.wait_serving(redis, queue)
        health = (await client.get("/health")).json()
        [event_id] = await hooks.emit("order.confirmed")
        [arrival] = await receiver.wait_for(1)
        metrics = await scrape(port)
    finally:
        code = worker.stop()

    assert code == 0, worker.log_text()[-3000:]
    assert arrival.event_id == event_id
    assert [d.status for d in await hooks.deliveries(endpoint.id)] == ["delivered"]
    assert health["checks"]["queue"]["ok"] is True
    assert {q["worker"] for q in health["checks"]["queue"]["queues"].values()} == {True}
    assert (
        'eventapi_jobs_succeeded_total{function="outbox.dispatch",queue="maintenance"}' in metrics
    )
    assert 'eventapi_jobs_started_total{function="webhooks.deliver",queue="webhooks"}' in metrics
    assert "eventapi_job_duration_seconds_bucket" in metrics
    # A clean stop takes the worker's heartbeat with it.
    assert not await redis.exists(queues.health_key(queues.WEBHOOKS))
