"""The eventAnalytics subscription: a snapshot, then a new one after changes (coalesced),
across instances through Redis pub/sub."""

from __future__ import annotations

import asyncio

import httpx

from tests.support import commerce, factories
from tests.support.analytics import pay
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import InProcessServer, connect
from tests.support.waitlist import join

SUBSCRIBE = """
subscription($e: ID!) { eventAnalytics(eventId: $e) { ordersPending ticketsSold waitlisted } }
"""


async def test_analytics_follow_orders_and_the_waitlist_live(
    gql: GraphQLClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=3, ticket_type={"waitlistEnabled": True})
    async with connect(ws_server.url, token=sale.org.owner.token) as ws:
        sub = await ws.subscribe(SUBSCRIBE, {"e": sale.event_id})
        first = (await sub.next())["eventAnalytics"]
        assert first == {"ordersPending": 0, "ticketsSold": 0, "waitlisted": 0}
        await asyncio.gather(*(commerce.order(gql, sale, 1) for _ in range(3)))
        seen = (await sub.next())["eventAnalytics"]
        while seen["ordersPending"] < 3:
            seen = (await sub.next())["eventAnalytics"]
        assert seen == {"ordersPending": 3, "ticketsSold": 0, "waitlisted": 0}
        assert (await join(gql, sale, email="late@example.com"))["errors"] == []
        assert (await sub.next())["eventAnalytics"]["waitlisted"] == 1


async def test_outsiders_cannot_subscribe(gql: GraphQLClient, ws_server: InProcessServer) -> None:
    sale = await commerce.sale(gql, quantity=3)
    other = await commerce.sale(gql, quantity=3)
    async with connect(ws_server.url, token=other.org.owner.token) as ws:
        sub = await ws.subscribe(SUBSCRIBE, {"e": sale.event_id})
        message = await sub.message()
        assert message["type"] == "error", message
        assert message["payload"][0]["extensions"]["code"] == "NOT_FOUND"


BY_MINUTE = """
subscription($e: ID!) { eventAnalytics(eventId: $e) {
  ordersConfirmed ticketsSold gross { amount }
  sales(interval: MINUTE) { orders tickets gross { amount } } } }
"""


async def test_each_snapshot_carries_its_series_by_the_minute(
    gql: GraphQLClient, client: httpx.AsyncClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    async with connect(ws_server.url, token=sale.org.owner.token) as ws:
        sub = await ws.subscribe(BY_MINUTE, {"e": sale.event_id})
        first = (await sub.next())["eventAnalytics"]
        assert (first["ordersConfirmed"], first["sales"]) == (0, [])
        await pay(gql, client, sale, buyer, 2)
        seen = (await sub.next())["eventAnalytics"]
        while seen["ordersConfirmed"] < 1:
            seen = (await sub.next())["eventAnalytics"]
        assert seen["ticketsSold"] == sum(p["tickets"] for p in seen["sales"]) == 2
        assert [p["orders"] for p in seen["sales"]] == [1]
        assert seen["sales"][0]["gross"] == seen["gross"] == {"amount": "50.00"}
