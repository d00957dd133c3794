"""Expiries (the worker's job) and refunds reach live subscribers like any other change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from server.db import Database
from server.orders.lifecycle import expire_due
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import AVAILABILITY, ORDER_STATUS, InProcessServer, connect

REFUND = """
mutation($input: RefundOrderInput!) { refundOrder(input: $input) { order { status } errors { code message } } }
"""


def counts(data: dict[str, object]) -> tuple[object, ...]:
    row = data["ticketAvailability"]
    assert isinstance(row, dict)
    return row["available"], row["sold"], row["reserved"]


async def test_an_expired_order_gives_its_units_back_to_subscribers(
    gql: GraphQLClient, db: Database, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    order_id = (await commerce.order(gql, sale, 4))["order"]["id"]
    async with connect(ws_server.url) as ws:
        availability = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        status = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert counts(await availability.next()) == (6, 0, 4)
        assert (await status.next())["orderStatus"]["status"] == "PENDING"

        async with db.transaction() as session:
            released = await expire_due(session, now=datetime.now(UTC) + timedelta(days=1))
        assert released == 1

        assert counts(await availability.next()) == (10, 0, 0)
        assert (await status.next())["orderStatus"]["status"] == "CANCELLED"


async def test_a_refund_reaches_the_buyer_and_the_availability(
    gql: GraphQLClient, client: httpx.AsyncClient, ws_server: InProcessServer
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    order_id = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]["id"]
    await commerce.pay_with_test(gql, client, order_id, token=buyer.token)
    async with connect(ws_server.url, token=buyer.token) as ws:
        availability = await ws.subscribe(AVAILABILITY, {"eventId": sale.event_id})
        status = await ws.subscribe(ORDER_STATUS, {"orderId": order_id})
        assert counts(await availability.next()) == (8, 2, 0)
        assert (await status.next())["orderStatus"]["status"] == "CONFIRMED"

        refunded = await gql(REFUND, {"input": {"orderId": order_id}}, token=sale.org.owner.token)
        assert refunded["refundOrder"]["errors"] == []

        seen = "CONFIRMED"
        while seen == "CONFIRMED":
            seen = (await status.next())["orderStatus"]["status"]
        assert seen == "REFUNDED"
        assert counts(await availability.next()) == (10, 0, 0)
