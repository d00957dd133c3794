"""Publishing after commit: one message per channel for a burst of changes, and the
messages a real order's commit produces."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from redis.asyncio import Redis

from server.live.channels import decode_scope, event_channel, order_channel
from server.live.publisher import LivePublisher
from tests.support import commerce
from tests.support.gql import GraphQLClient

END = b"end-of-test"


async def messages_until_end(pubsub: Any, want_channels: int = 1) -> list[tuple[str, bytes]]:
    """Messages (channel, data) up to the END marker on each of `want_channels` channels."""
    received: list[tuple[str, bytes]] = []
    ends = 0
    while ends < want_channels:
        message = await asyncio.wait_for(pubsub.get_message(timeout=20), 25)
        if message is None or message["type"] != "message":
            continue
        if message["data"] == END:
            ends += 1
            continue
        received.append((message["channel"].decode(), message["data"]))
    return received


async def subscribed(pubsub: Any, channel: str) -> None:
    await pubsub.subscribe(channel)
    confirmed = await asyncio.wait_for(pubsub.get_message(timeout=20), 25)
    assert confirmed is not None and confirmed["type"] == "subscribe"


async def test_a_burst_of_changes_becomes_one_message_naming_every_date(redis: Redis) -> None:
    event_id = uuid.uuid4()
    dates = [uuid.uuid4() for _ in range(100)]
    channel = event_channel(event_id)
    async with redis.pubsub() as pubsub:
        await subscribed(pubsub, channel)
        publisher = LivePublisher(redis, window=0.05)
        for date in dates:
            publisher.event_changed(event_id, frozenset({date}))
        await publisher.aclose()
        await redis.publish(channel, END)
        received = await messages_until_end(pubsub)
    assert len(received) == 1
    assert decode_scope(received[0][1]) == frozenset(dates)


async def test_a_change_without_a_date_widens_the_message_to_all_dates(redis: Redis) -> None:
    event_id = uuid.uuid4()
    channel = event_channel(event_id)
    async with redis.pubsub() as pubsub:
        await subscribed(pubsub, channel)
        publisher = LivePublisher(redis, window=0.05)
        publisher.event_changed(event_id, frozenset({uuid.uuid4()}))
        publisher.event_changed(event_id, None)
        await publisher.aclose()
        await redis.publish(channel, END)
        received = await messages_until_end(pubsub)
    assert [decode_scope(data) for _, data in received] == [None]


async def test_changes_after_a_flush_get_their_own_message(redis: Redis) -> None:
    event_id = uuid.uuid4()
    first, second = uuid.uuid4(), uuid.uuid4()
    channel = event_channel(event_id)
    async with redis.pubsub() as pubsub:
        await subscribed(pubsub, channel)
        publisher = LivePublisher(redis, window=0.001)
        publisher.event_changed(event_id, frozenset({first}))
        await publisher.aclose()
        publisher.event_changed(event_id, frozenset({second}))
        await publisher.aclose()
        await redis.publish(channel, END)
        received = await messages_until_end(pubsub)
    assert [decode_scope(data) for _, data in received] == [
        frozenset({first}),
        frozenset({second}),
    ]


async def test_placing_an_order_publishes_its_event_and_its_order(
    gql: GraphQLClient, redis: Redis
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    async with redis.pubsub() as pubsub:
        await pubsub.psubscribe("live:*")
        confirmed = await asyncio.wait_for(pubsub.get_message(timeout=20), 25)
        assert confirmed is not None and confirmed["type"] == "psubscribe"
        placed = await commerce.order(gql, sale, 2)
        assert placed["errors"] == []
        order_id = uuid.UUID(placed["order"]["id"])
        wanted = {event_channel(uuid.UUID(sale.event_id)), order_channel(order_id)}
        seen: dict[str, bytes] = {}
        while not wanted <= set(seen):
            message = await asyncio.wait_for(pubsub.get_message(timeout=20), 25)
            if message is not None and message["type"] == "pmessage":
                seen[message["channel"].decode()] = message["data"]
    occurrence = uuid.UUID(sale.occurrence_ids[0])
    assert decode_scope(seen[event_channel(uuid.UUID(sale.event_id))]) == frozenset({occurrence})
