"""A real Redis restarted under workers that are delivering webhooks: `eventapi worker` and
the in-process workers of `eventapi serve` wait for Redis, carry on, and every event
reaches the receiver exactly once, those emitted during the outage included. A delivery
in flight when Redis stops is recorded in PostgreSQL, so it is not sent again."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from arq import create_pool
from arq.connections import RedisSettings
from redis.asyncio import Redis
from sqlalchemy import select

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.effects import EffectRunner
from server.embedded import EmbeddedRedis
from server.jobs import queues
from server.jobs.models import JobDeadLetter
from tests.server.webhooks.conftest import Hooks, make_hooks
from tests.server.webhooks.receiver import Receiver, Stall
from tests.support.gql import GraphQLClient
from tests.support.jobs import WorkerProcess
from tests.support.live import live_servers
from tests.support.own_servers import own_redis_server
from tests.support.services import ServiceUrls

FAST = {"webhook_retry_base": "0.01", "webhook_retry_max": "0.05"}
OUTAGE_NOTICED = "redis unavailable; worker waiting to reconnect"


@pytest.fixture
def own_redis() -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own, that the test stops and starts again."""
    with own_redis_server() as server:
        yield server


@pytest.fixture
async def side(
    services: ServiceUrls, own_redis: EmbeddedRedis, settings: Settings
) -> AsyncIterator[AppState]:
    """The test's own database handle and clients on that Redis, so the events it emits
    nudge the workers under test (through the same after-commit effects as the app)."""
    db = Database(services.database_url)
    redis = Redis.from_url(own_redis.url)
    queue = await create_pool(RedisSettings.from_dsn(own_redis.url))
    state = AppState(settings=settings, db=db, redis=redis, queue=queue)
    EffectRunner(state).install(db)
    yield state
    await queue.aclose()
    await redis.aclose()
    await db.dispose()


@pytest.fixture
async def own_hooks(gql: GraphQLClient, side: AppState, fast_settings: Settings) -> Hooks:
    return await make_hooks(gql, side.db, fast_settings)


async def eventually(check: Callable[[], Awaitable[bool]], what: str, tries: int = 600) -> None:
    for _ in range(tries):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


async def deliver_across_a_restart(
    hooks: Hooks,
    endpoint_id: uuid.UUID,
    receiver: Receiver,
    redis_server: EmbeddedRedis,
    side: AppState,
    *,
    log_text: Callable[[], str],
    while_down: Callable[[], Awaitable[None]] | None = None,
) -> list[str]:
    """Deliver a few events, stop Redis while one delivery waits on the receiver, emit
    more while Redis is down, and once the workers have noticed the outage (`log_text`,
    their log) start Redis again; returns every event id emitted."""
    before = await hooks.emit("order.created", "order.created", "event.published")
    await receiver.wait_for(3)
    stall = Stall()
    receiver.then(stall)
    in_flight = await hooks.emit("ticket.checkedin")
    await receiver.wait_for(4)

    redis_server.stop()
    stall.release.set()  # the receiver accepts the in-flight delivery while Redis is down
    during = await hooks.emit("ticket.checkedin", "ticket.transferred")
    if while_down is not None:
        await while_down()

    async def noticed() -> bool:
        return OUTAGE_NOTICED in log_text()

    await eventually(noticed, "the workers notice that Redis is down")
    redis_server.start()
    # A restart may lose the heartbeats (they expire while Redis is down): they come back.
    await side.redis.delete(*(queues.health_key(q) for q in queues.QUEUES))

    emitted = before + in_flight + during
    await receiver.wait_for(len(emitted), timeout=90)
    await eventually(lambda: _nothing_pending(hooks, endpoint_id), "every delivery recorded")
    await eventually(lambda: _queues_served(side), "every queue served again")
    return emitted


async def _nothing_pending(hooks: Hooks, endpoint_id: uuid.UUID) -> bool:
    return await hooks.pending(endpoint_id) == 0


async def _queues_served(side: AppState) -> bool:
    return bool((await queues.queue_health(side))["ok"])


async def assert_delivered_once(
    hooks: Hooks, endpoint_id: uuid.UUID, receiver: Receiver, emitted: list[str]
) -> None:
    arrived = Counter(a.event_id for a in receiver.arrivals)
    assert sorted(arrived) == sorted(emitted)
    assert set(arrived.values()) == {1}
    deliveries = await hooks.deliveries(endpoint_id)
    assert len(deliveries) == len(emitted)
    assert {(d.status, d.attempts) for d in deliveries} == {("delivered", 1)}
    async with hooks.db.read() as session:
        dead = list(await session.scalars(select(JobDeadLetter)))
    assert [(d.queue, d.function, d.error) for d in dead] == []


@pytest.mark.slow
async def test_a_worker_process_rides_out_a_redis_restart(
    services: ServiceUrls,
    tmp_path: Path,
    own_redis: EmbeddedRedis,
    side: AppState,
    own_hooks: Hooks,
    receiver: Receiver,
) -> None:
    endpoint = await own_hooks.endpoint(receiver.url)
    worker = WorkerProcess(replace(services, redis_url=own_redis.url), tmp_path, **FAST)
    try:
        for queue in queues.QUEUES:
            await worker.wait_serving(side.redis, queue)
        emitted = await deliver_across_a_restart(
            own_hooks, endpoint.id, receiver, own_redis, side, log_text=worker.log_text
        )
        alive = worker.process.poll() is None
    finally:
        code = worker.stop()

    log = worker.log_text()
    assert alive, log[-3000:]
    assert code == 0, log[-3000:]
    assert OUTAGE_NOTICED in log
    assert "redis is back; worker resumed" in log
    await assert_delivered_once(own_hooks, endpoint.id, receiver, emitted)


@pytest.mark.slow
async def test_the_in_process_workers_of_serve_ride_out_a_redis_restart(
    services: ServiceUrls,
    tmp_path: Path,
    own_redis: EmbeddedRedis,
    side: AppState,
    own_hooks: Hooks,
    receiver: Receiver,
) -> None:
    endpoint = await own_hooks.endpoint(receiver.url)
    with live_servers(
        services.database_url,
        own_redis.url,
        tmp_path,
        worker_in_process="true",
        webhook_allow_private_urls="true",
        **FAST,
    ) as [server]:
        async with httpx.AsyncClient(base_url=server.url) as http:
            statuses: list[int] = []

            async def health_while_down() -> None:
                statuses.append((await http.get("/health")).status_code)

            await eventually(
                lambda: _health_is(http, 200), "the app reports healthy workers at first"
            )
            emitted = await deliver_across_a_restart(
                own_hooks,
                endpoint.id,
                receiver,
                own_redis,
                side,
                log_text=server.log_text,
                while_down=health_while_down,
            )
            await eventually(lambda: _health_is(http, 200), "/health recovers")
        log = server.log_text()

    assert statuses == [503]
    assert OUTAGE_NOTICED in log
    assert "redis is back; worker resumed" in log
    await assert_delivered_once(own_hooks, endpoint.id, receiver, emitted)


async def _health_is(http: httpx.AsyncClient, status: int) -> bool:
    return (await http.get("/health")).status_code == status
