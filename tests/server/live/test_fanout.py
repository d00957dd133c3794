"""The per-instance fan-out: one read per change shared by every subscriber of an event,
slow subscribers that never hold others up, and nothing left behind when subscribers go."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable

from redis.asyncio import Redis

from server.live.channels import event_channel, order_channel
from server.live.hub import LiveHub, live_hub
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import AVAILABILITY, ORDER_STATUS, InProcessServer, connect

WAIT = 20.0


async def eventually(check: Callable[[], object], what: str) -> None:
    """Wait for a condition that the server reaches on its own, failing after WAIT."""
    deadline = asyncio.get_running_loop().time() + WAIT
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


def hub_of(server: InProcessServer) -> LiveHub:
    return live_hub(server.state)


async def test_one_read_per_change_serves_every_subscriber_of_the_event(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=100)
    hub = hub_of(ws_server)
    channel = event_channel(uuid.UUID(sale.event_id))
    async with contextlib.AsyncExitStack() as stack:
        sockets = [await stack.enter_async_context(connect(ws_server.url)) for _ in range(3)]
        subs = [
            await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
            for ws in sockets
            for _ in range(20)
        ]
        for sub in subs:
            assert (await sub.next())["ticketAvailability"]["available"] == 100
        topic = hub.topics[channel]
        assert len(topic.watchers) == 60
        reads_before = topic.reads

        assert (await commerce.order(gql, sale, 3))["errors"] == []
        for sub in subs:
            assert (await sub.next())["ticketAvailability"]["available"] == 97
        assert topic.reads == reads_before + 1


async def test_a_subscriber_that_does_not_read_never_holds_up_the_others(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=100)
    hub = hub_of(ws_server)
    async with (
        hub.watch_event(
            uuid.UUID(sale.event_id), occurrence_id=None, sees_private=False
        ) as stalled,
        connect(ws_server.url) as ws,
    ):
        sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        assert (await sub.next())["ticketAvailability"]["available"] == 100
        for _ in range(5):
            assert (await commerce.order(gql, sale, 1))["errors"] == []
        seen = 100
        while seen != 95:
            seen = (await sub.next())["ticketAvailability"]["available"]
        # The stalled subscriber holds one state, the latest, and nothing else.
        await eventually(lambda: stalled.backlog == 1, "stalled subscriber has one state")
        latest = await anext(stalled)
        assert (latest.available, latest.reserved) == (95, 5)


async def numsub(redis: Redis, channel: str) -> int:
    result = await redis.pubsub_numsub(channel)
    return int(result[0][1])


async def test_subscribers_that_leave_leave_nothing_behind(
    gql: GraphQLClient, redis: Redis, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=100)
    buyer = await factories.register(gql)
    order_id = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]["id"]
    hub = hub_of(ws_server)
    event = event_channel(uuid.UUID(sale.event_id))
    order = order_channel(uuid.UUID(order_id))
    watchers_before = hub.stats().watchers

    stack = contextlib.AsyncExitStack()
    completing = await stack.enter_async_context(connect(ws_server.url))
    closing = await stack.enter_async_context(connect(ws_server.url, token=buyer.token))
    dropping = await stack.enter_async_context(connect(ws_server.url))
    first = await completing.subscribe(AVAILABILITY, {"eventId": sale.event_id})
    second = await closing.subscribe(ORDER_STATUS, {"orderId": order_id})
    third = await dropping.subscribe(AVAILABILITY, {"eventId": sale.event_id})
    for sub in (first, second, third):
        await sub.next()
    assert hub.stats().watchers == watchers_before + 3
    assert {event, order} <= set(hub.topics)
    await eventually(lambda: hub.stats().redis_channels >= 2, "channels subscribed in Redis")
    assert await numsub(redis, event) == 1  # one pub/sub connection for the instance
    assert await numsub(redis, order) == 1

    await first.complete()  # the protocol's way to stop one subscription
    await eventually(lambda: len(hub.topics[event].watchers) == 1, "completed one removed")
    await closing.close()  # a clean close of the socket
    dropping.socket.transport.abort()  # the client vanishes without a word
    await stack.aclose()

    await eventually(lambda: hub.stats().watchers == watchers_before, "no watchers left")
    assert event not in hub.topics and order not in hub.topics
    await eventually(lambda: hub.stats().redis_channels == 0, "channels unsubscribed")

    async def redis_has_none() -> bool:
        return await numsub(redis, event) == 0 and await numsub(redis, order) == 0

    deadline = asyncio.get_running_loop().time() + WAIT
    while not await redis_has_none():
        assert asyncio.get_running_loop().time() < deadline, "Redis still subscribed"
        await asyncio.sleep(0.02)
    leftovers = [
        t.get_name()
        for t in asyncio.all_tasks()
        if t.get_name().startswith("live-refresh") and not t.done()
    ]
    assert leftovers == []


async def test_a_full_instance_refuses_new_subscriptions_with_a_code(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    hub = hub_of(ws_server)
    limit = hub.max_watchers
    hub.max_watchers = hub.stats().watchers + 1
    try:
        async with connect(ws_server.url) as ws:
            admitted = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
            assert (await admitted.next())["ticketAvailability"]["available"] == 10
            refused = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
            message = await refused.message()
            assert message["type"] == "error"
            assert message["payload"][0]["extensions"] == {"code": "LIMIT_EXCEEDED"}
    finally:
        hub.max_watchers = limit


async def test_a_burst_of_concurrent_orders_ends_with_the_last_state(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=100)
    async with connect(ws_server.url) as ws:
        sub = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        assert (await sub.next())["ticketAvailability"]["available"] == 100
        placed = await asyncio.gather(*(commerce.order(gql, sale, 1) for _ in range(30)))
        assert all(p["errors"] == [] for p in placed)
        seen = [(await sub.next())["ticketAvailability"]]
        while seen[-1]["available"] != 70:
            seen.append((await sub.next())["ticketAvailability"])
        assert (seen[-1]["available"], seen[-1]["reserved"]) == (70, 30)
        # Never an older state after a newer one.
        counts = [row["available"] for row in seen]
        assert counts == sorted(counts, reverse=True)
        assert (await commerce.availability(gql, sale))[0]["available"] == 70


async def test_seat_maps_and_availability_of_one_event_share_its_channel(
    gql: GraphQLClient, redis: Redis, ws_server: InProcessServer
) -> None:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 2)})
    ids = await commerce.seat_ids(gql, sale)
    hub = hub_of(ws_server)
    channel = event_channel(uuid.UUID(sale.event_id))
    seats_query = "subscription($o: ID!) { seatAvailability(occurrenceId: $o) { state } }"
    async with connect(ws_server.url) as ws:
        counts = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        seats = await ws.subscribe(seats_query, {"o": sale.occurrence_ids[0]})
        await counts.next()
        await seats.take(2)
        assert {channel, f"{channel}/seats/{sale.occurrence_ids[0]}"} <= set(hub.topics)
        assert await numsub(redis, channel) == 1  # two topics, one Redis subscription

        assert (await commerce.order(gql, sale, 1, item={"seatIds": [ids["A/1/1"]]}))[
            "errors"
        ] == []
        assert (await counts.next())["ticketAvailability"]["available"] == 1
        assert (await seats.next())["seatAvailability"]["state"] == "RESERVED"

        await seats.complete()
        await eventually(
            lambda: f"{channel}/seats/{sale.occurrence_ids[0]}" not in hub.topics,
            "the seat topic removed",
        )
        assert channel in hub.topics
        assert await numsub(redis, channel) == 1  # still heard for the counts
        assert (await commerce.order(gql, sale, 1, item={"seatIds": [ids["A/1/2"]]}))[
            "errors"
        ] == []
        assert (await counts.next())["ticketAvailability"]["available"] == 0
    await eventually(lambda: channel not in hub.topics, "no topic left")
