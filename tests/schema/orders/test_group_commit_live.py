"""Group commit across two app processes, through real HTTP: signed-in buyers retrying one
idempotency key against both instances at once get one order per key, and the sale never
oversells whatever mix of shapes arrives."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from server.db import Database
from tests.schema.promotions.helpers import create_promotion
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.live import live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live


async def test_one_order_per_key_across_two_instances_and_no_oversell(
    gql: GraphQLClient, db: Database, services: ServiceUrls, tmp_path: Path
) -> None:
    sale = await commerce.sale(gql, quantity=40, price="20.00", ticket_type={"maxPerOrder": 4})
    await create_promotion(gql, sale.org.id, token=sale.org.owner.token, codes=["TEN"], maxUses=10)
    api_key = await factories.create_api_key(gql, sale.org, ["orders:write"])
    buyers = [await factories.register(gql) for _ in range(30)]

    with live_servers(
        services.database_url,
        services.redis_url,
        tmp_path,
        count=2,
        RATE_LIMIT_ANONYMOUS="100000",
        RATE_LIMIT_AUTHENTICATED="100000",
    ) as servers:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
        async with (
            httpx.AsyncClient(base_url=servers[0].url, limits=limits, timeout=60) as a,
            httpx.AsyncClient(base_url=servers[1].url, limits=limits, timeout=60) as b,
        ):
            one, two = GraphQLClient(a), GraphQLClient(b)
            keyed = [
                commerce.order(
                    client,
                    sale,
                    2,
                    token=buyer.token,
                    idempotencyKey=f"buyer-{n}",
                    **({"promoCode": "TEN"} if n % 3 == 0 else {}),
                )
                for n, buyer in enumerate(buyers)
                for client in (one, two)  # the same key sent to both instances at once
            ]
            others = [
                commerce.order(
                    two if n % 2 else one, sale, 1, token=api_key, buyer_email=f"k{n}@example.com"
                )
                for n in range(20)
            ]
            results = await asyncio.gather(*keyed, *others)

    keyed_results, other_results = results[: len(keyed)], results[len(keyed) :]
    per_key = [keyed_results[n * 2 : n * 2 + 2] for n in range(len(buyers))]
    for first, second in per_key:
        assert (first["order"] or {}).get("id") == (second["order"] or {}).get("id")
    placed_by_key = [pair[0] for pair in per_key if pair[0]["order"] is not None]
    sold = 2 * len(placed_by_key) + sum(1 for r in other_results if r["errors"] == [])
    async with db.read() as session:
        orders = await session.scalar(
            text("SELECT count(*) FROM orders WHERE event_id = :e"), {"e": sale.event_id}
        )
        keys_used = await session.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE order_id IS NOT NULL")
        )
        used = await session.scalar(text("SELECT used FROM promo_codes"))
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == sold <= 40
    assert orders == len(placed_by_key) + sum(1 for r in other_results if r["errors"] == [])
    assert keys_used == len(placed_by_key)
    assert used == sum(1 for r in placed_by_key if r["order"]["discount"]["amount"] != "0.00")
    assert {e["code"] for r in results for e in r["errors"]} <= {"SOLD_OUT", "LIMIT_EXCEEDED"}
