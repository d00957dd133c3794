"""From a committed domain change to the receiver, through real ARQ workers: the commit
nudges the dispatcher, the dispatcher wakes the endpoint, the endpoint's job delivers
(and schedules its own retries)."""

from __future__ import annotations

from redis.asyncio import Redis

from server.jobs import queues
from tests.server.webhooks.conftest import Hooks
from tests.server.webhooks.receiver import Receiver, Respond
from tests.support.jobs import run_jobs


async def test_a_committed_event_reaches_the_receiver_through_the_queues(
    hooks: Hooks, redis: Redis, receiver: Receiver
) -> None:
    receiver.then(Respond(500))
    endpoint = await hooks.endpoint(receiver.url, ["order.confirmed"])
    first, second = await hooks.emit("order.confirmed", "order.confirmed")

    await run_jobs(hooks.settings, redis, only=[queues.MAINTENANCE, queues.WEBHOOKS])

    assert [a.event_id for a in receiver.arrivals] == [first, first, second]
    assert [(d.status, d.attempts) for d in await hooks.deliveries(endpoint.id)] == [
        ("delivered", 2),
        ("delivered", 1),
    ]
