"""Redis restarting under a subscription: the instance reconnects and resubscribes, and its
subscribers get a fresh snapshot, so a change made while Redis was away is not missed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.config import Settings
from server.embedded import EmbeddedRedis
from server.live.hub import live_hub
from tests.support import commerce
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import AVAILABILITY, connect, serve_in_process

WAIT = 30.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of this test's own, on a unix socket, that the test may kill and restart."""
    redis = EmbeddedRedis(tmp_path / "redis", tmp_path / "run", durable=False)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()


def rows(messages: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    found = {}
    for data in messages:
        row = data["ticketAvailability"]
        found[row["ticketTypeId"]] = (row["available"], row["reserved"])
    return found


async def test_subscribers_get_a_fresh_snapshot_after_redis_restarts(
    gql: GraphQLClient,
    own_redis: EmbeddedRedis,
    make_settings: Callable[..., Settings],
) -> None:
    sale = await commerce.sale(gql, quantity=50)
    second = await commerce.add_ticket_type(gql, sale, quantity=20)
    first = sale.ticket_type_id
    async with serve_in_process(make_settings(redis_url=own_redis.url)) as server:
        hub = live_hub(server.state)
        async with connect(server.url) as ws:
            sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
            assert rows(await sub.take(2)) == {first: (50, 0), second: (20, 0)}

            assert own_redis.process is not None
            own_redis.process.kill()
            own_redis.process.wait(10)
            deadline = asyncio.get_running_loop().time() + WAIT
            while hub.connected.is_set():
                assert asyncio.get_running_loop().time() < deadline, "loss not noticed"
                await asyncio.sleep(0.02)

            # Made through the other instance, whose Redis is up: this instance cannot
            # hear of it, its Redis being down.
            assert (await commerce.order(gql, sale, 4))["errors"] == []

            own_redis.start()
            # After reconnecting, every row again (not only what changed), with the change.
            assert rows(await sub.take(2, timeout=WAIT)) == {first: (46, 4), second: (20, 0)}
            assert hub.reconnects == 1
            assert hub.stats().redis_channels == 1

            # And the subscription carries on: a change made through this instance.
            async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
                assert (await commerce.order(GraphQLClient(http), sale, 1))["errors"] == []
            assert rows([await sub.next()]) == {first: (45, 5)}
