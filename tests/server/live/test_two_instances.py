"""Two app processes on one database and Redis: a purchase through one instance reaches
a subscriber connected to the other."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.graphql_ws import AVAILABILITY, ORDER_STATUS, connect
from tests.support.live import live_servers
from tests.support.services import ServiceUrls


@pytest.mark.live
async def test_a_purchase_on_one_instance_reaches_a_subscriber_on_the_other(
    services: ServiceUrls, tmp_path: Path
) -> None:
    with live_servers(services.database_url, services.redis_url, tmp_path, count=2) as (a, b):
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as http_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as http_b,
        ):
            gql_a, gql_b = GraphQLClient(http_a), GraphQLClient(http_b)
            sale = await commerce.sale(gql_a, quantity=40)
            buyer = await factories.register(gql_b)
            async with (
                connect(b.url) as anonymous_on_b,
                connect(a.url, token=buyer.token) as buyer_on_a,
            ):
                availability = await anonymous_on_b.subscribe(
                    AVAILABILITY, {"eventId": sale.event_id}
                )
                row = (await availability.next())["ticketAvailability"]
                assert (row["available"], row["reserved"]) == (40, 0)

                placed = await commerce.order(gql_a, sale, 3, token=buyer.token)
                assert placed["errors"] == []
                row = (await availability.next())["ticketAvailability"]
                assert (row["available"], row["reserved"]) == (37, 3)

                # And the other way round: the buyer watches on A, the payment lands on B.
                order_id = placed["order"]["id"]
                status = await buyer_on_a.subscribe(ORDER_STATUS, {"orderId": order_id})
                assert (await status.next())["orderStatus"]["status"] == "PENDING"
                await commerce.pay_with_test(gql_b, http_b, order_id, token=buyer.token)
                seen = "PENDING"
                while seen == "PENDING":
                    seen = (await status.next())["orderStatus"]["status"]
                assert seen == "CONFIRMED"
                row = (await availability.next())["ticketAvailability"]
                assert (row["available"], row["sold"], row["reserved"]) == (37, 3, 0)
