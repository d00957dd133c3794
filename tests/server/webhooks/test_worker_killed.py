"""A worker process killed (SIGKILL) in the middle of a delivery: the job runs again in
another worker once ARQ's in-progress lock expires, and the delivery is recorded once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from redis.asyncio import Redis

from server.jobs import queues
from tests.server.webhooks.conftest import Hooks
from tests.server.webhooks.receiver import Hang, Receiver
from tests.support.jobs import WorkerProcess
from tests.support.services import ServiceUrls

# A short job timeout keeps ARQ's in-progress lock (job timeout + 11s) short.
FAST = {"job_timeout": "4", "webhook_timeout": "2", "webhook_retry_base": "0.01"}


@pytest.mark.slow
async def test_a_delivery_interrupted_by_a_killed_worker_is_made_by_the_next_one(
    services: ServiceUrls, tmp_path: Path, redis: Redis, hooks: Hooks, receiver: Receiver
) -> None:
    receiver.then(Hang())
    endpoint = await hooks.endpoint(receiver.url)
    first = WorkerProcess(services, tmp_path, "first", **FAST)
    try:
        await first.wait_serving(redis, queues.WEBHOOKS)
        [event_id] = await hooks.emit("order.confirmed")
        await receiver.wait_for(1)  # the first worker is now waiting on the receiver
        first.kill()
    finally:
        first.stop()

    [delivery] = await hooks.deliveries(endpoint.id)
    assert (delivery.status, delivery.attempts) == ("pending", 0)  # nothing was recorded

    second = WorkerProcess(services, tmp_path, "second", **FAST)
    try:
        await receiver.wait_for(2, timeout=60)
        for _ in range(100):
            [delivery] = await hooks.deliveries(endpoint.id)
            if delivery.status != "pending":
                break
            await asyncio.sleep(0.1)
    finally:
        assert second.stop() == 0, second.log_text()[-3000:]

    assert [a.event_id for a in receiver.arrivals] == [event_id, event_id]
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 1, 200)
    [attempt] = await hooks.attempts(delivery.id)
    assert (attempt.number, attempt.response_status) == (1, 200)
    assert len(await hooks.deliveries(endpoint.id)) == 1
