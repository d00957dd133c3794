"""Promo codes through createOrder and cancelOrder: the discount lands on the order, a
refused code reserves nothing, and a code's uses hold under a real HTTP rush."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.clock import utcnow
from server.db import Database
from server.orders import lifecycle
from tests.schema.promotions.helpers import PROMOTIONS, create_promotion
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors
from tests.support.live import live_servers
from tests.support.services import ServiceUrls

CANCEL = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"


async def _promotion(gql: GraphQLClient, sale: commerce.Sale, **fields: Any) -> None:
    payload = await create_promotion(gql, sale.org.id, token=sale.org.owner.token, **fields)
    assert payload["errors"] == [], payload["errors"]


async def _used(gql: GraphQLClient, sale: commerce.Sale) -> dict[str, int]:
    data = await gql(PROMOTIONS, {"org": sale.org.id}, token=sale.org.owner.token)
    return {c["code"]: c["used"] for p in data["promotions"] for c in p["codes"]}


async def test_an_order_with_a_code_carries_its_discount(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10, price="33.30")
    await _promotion(gql, sale, percentOff=15, codes=["Fifteen"])

    placed = await commerce.order(gql, sale, 1, promoCode="fifteen")

    assert placed["errors"] == []
    order = placed["order"]
    assert (order["subtotal"]["amount"], order["discount"]["amount"]) == ("33.30", "5.00")
    assert await _used(gql, sale) == {"Fifteen": 1}


async def test_a_refused_code_refuses_the_order_and_reserves_nothing(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10)
    other = await commerce.sale(gql, sale.org)
    await _promotion(gql, sale, eventId=other.event_id, codes=["OTHEREVENT"])

    unknown = await commerce.order(gql, sale, 2, promoCode="NOSUCHCODE")
    elsewhere = await commerce.order(gql, sale, 2, promoCode="OTHEREVENT")

    assert payload_errors(unknown) == [("INVALID_PROMO_CODE", ["promoCode"])]
    assert payload_errors(elsewhere) == [("INVALID_PROMO_CODE", ["promoCode"])]
    assert elsewhere["errors"][0]["message"] == "This promo code is not valid for this event."
    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["reserved"]) == (10, 0)
    assert await _used(gql, sale) == {"OTHEREVENT": 0}


async def test_cancelling_the_order_gives_the_use_back_once(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10)
    await _promotion(gql, sale, codes=["ONEUSE"], maxUses=1)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 1, token=buyer.token, promoCode="ONEUSE"))["order"]
    refused = await commerce.order(gql, sale, 1, promoCode="ONEUSE")

    cancels = await asyncio.gather(
        *[gql(CANCEL, {"id": order["id"]}, token=buyer.token) for _ in range(5)]
    )
    again = await commerce.order(gql, sale, 1, promoCode="ONEUSE")

    assert refused["errors"][0]["message"] == "This promo code has no uses left."
    assert [c["cancelOrder"]["errors"] for c in cancels].count([]) == 1
    assert again["errors"] == []
    assert await _used(gql, sale) == {"ONEUSE": 1}


async def test_an_expired_order_gives_its_use_back(gql: GraphQLClient, db: Database) -> None:
    sale = await commerce.sale(gql, quantity=10)
    await _promotion(gql, sale, codes=["EXPIRING"], maxUses=3)
    await commerce.order(gql, sale, 1, promoCode="EXPIRING")
    await commerce.order(gql, sale, 1, promoCode="EXPIRING")

    async with db.transaction() as session:
        expired = await lifecycle.expire_due(session, now=utcnow() + timedelta(days=1))

    assert expired == 2
    assert await _used(gql, sale) == {"EXPIRING": 0}


async def test_a_signed_in_buyer_is_held_to_the_per_buyer_limit(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10)
    await _promotion(gql, sale, codes=["JUSTONCE"], maxUsesPerUser=1)
    buyer = await factories.register(gql)

    results = await asyncio.gather(
        *[commerce.order(gql, sale, 1, token=buyer.token, promoCode="JUSTONCE") for _ in range(6)]
    )
    guest = await commerce.order(gql, sale, 1, promoCode="JUSTONCE")

    assert [r["errors"] for r in results].count([]) == 1
    assert {r["errors"][0]["code"] for r in results if r["errors"]} == {"INVALID_PROMO_CODE"}
    assert guest["errors"] == []
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == 2


@pytest.mark.live
async def test_a_code_with_five_uses_raced_by_forty_orders_over_http(
    gql: GraphQLClient, services: ServiceUrls, tmp_path: Path
) -> None:
    sale = await commerce.sale(gql, quantity=100, price="20.00")
    await _promotion(gql, sale, codes=["RUSH5"], maxUses=5, percentOff=50)

    with live_servers(
        services.database_url, services.redis_url, tmp_path, RATE_LIMIT_ANONYMOUS="100000"
    ) as [server]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=60) as http:
            live = GraphQLClient(http)
            results = await asyncio.gather(
                *[commerce.order(live, sale, 1, promoCode="rush5") for _ in range(40)]
            )

    won = [r["order"] for r in results if r["errors"] == []]
    refused = [r["errors"] for r in results if r["errors"]]
    assert len(won) == 5
    assert {o["discount"]["amount"] for o in won} == {"10.00"}
    assert (
        refused
        == [
            [
                {
                    "field": ["promoCode"],
                    "message": "This promo code has no uses left.",
                    "code": "INVALID_PROMO_CODE",
                }
            ]
        ]
        * 35
    )
    assert await _used(gql, sale) == {"RUSH5": 5}
    [row] = await commerce.availability(gql, sale)
    assert (row["reserved"], row["available"]) == (5, 95)  # refused orders reserved nothing
