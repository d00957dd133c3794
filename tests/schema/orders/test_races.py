"""The never-oversell claims, through real HTTP against a live app process."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support import commerce, factories
from tests.support.gql import GraphQLClient
from tests.support.live import live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live


async def _client(url: str) -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
    return httpx.AsyncClient(base_url=url, limits=limits, timeout=60)


async def test_300_buyers_for_100_tickets_sell_exactly_100(
    gql: GraphQLClient, services: ServiceUrls, tmp_path: Path
) -> None:
    sale = await commerce.sale(gql, quantity=100, ticket_type={"maxPerOrder": 10})
    with live_servers(
        services.database_url, services.redis_url, tmp_path, RATE_LIMIT_ANONYMOUS="100000"
    ) as [server]:
        async with await _client(server.url) as http:
            live = GraphQLClient(http)
            results = await asyncio.gather(*[commerce.order(live, sale, 1) for _ in range(300)])

    succeeded = [r for r in results if r["errors"] == []]
    refused = {r["errors"][0]["code"] for r in results if r["errors"]}
    assert len(succeeded) == 100
    assert refused == {"SOLD_OUT"}
    assert len({r["order"]["id"] for r in succeeded}) == 100
    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["reserved"], row["status"]) == (0, 100, "SOLD_OUT")


async def test_50_buyers_racing_for_the_same_10_seats(
    gql: GraphQLClient, services: ServiceUrls, tmp_path: Path
) -> None:
    org = await factories.create_org(gql)
    venue = await gql(
        "mutation($i: CreateVenueInput!) { createVenue(input: $i) { venue { id } } }",
        {"i": {"organizationId": org.id, "name": "Hall", "timezone": "Africa/Lagos"}},
        token=org.owner.token,
    )
    seatmap = await gql(
        "mutation($i: CreateSeatmapInput!) { createSeatmap(input: $i) { seatmap { id } } }",
        {
            "i": {
                "venueId": venue["createVenue"]["venue"]["id"],
                "name": "Front",
                "seats": [{"section": "A", "row": "1", "number": str(n)} for n in range(1, 11)],
            }
        },
        token=org.owner.token,
    )
    sale = await commerce.sale(
        gql,
        org,
        quantity=10,
        event={
            "venueId": venue["createVenue"]["venue"]["id"],
            "seatmapId": seatmap["createSeatmap"]["seatmap"]["id"],
        },
        ticket_type={"sections": ["A"]},
    )
    seats = await gql(
        "query($o: ID!) { seatAvailability(occurrenceId: $o) { seat { id number } state } }",
        {"o": sale.occurrence_ids[0]},
    )
    seat_ids = [s["seat"]["id"] for s in seats["seatAvailability"]]
    assert len(seat_ids) == 10

    # Each buyer wants two adjacent seats; pairs overlap, so many choices collide.
    wanted = [[seat_ids[i % 9], seat_ids[i % 9 + 1]] for i in range(50)]
    with live_servers(
        services.database_url, services.redis_url, tmp_path, RATE_LIMIT_ANONYMOUS="100000"
    ) as [server]:
        async with await _client(server.url) as http:
            live = GraphQLClient(http)
            results = await asyncio.gather(
                *[commerce.order(live, sale, 2, item={"seatIds": pair}) for pair in wanted]
            )

    won = [pair for pair, r in zip(wanted, results, strict=True) if r["errors"] == []]
    taken = [seat for pair in won for seat in pair]
    assert len(taken) == len(set(taken))  # no seat sold twice
    assert 1 <= len(won) <= 5
    assert {r["errors"][0]["code"] for r in results if r["errors"]} <= {
        "SOLD_OUT",
        "LIMIT_EXCEEDED",
    }
    after = await gql(
        "query($o: ID!) { seatAvailability(occurrenceId: $o) { seat { id } state } }",
        {"o": sale.occurrence_ids[0]},
    )
    reserved = {s["seat"]["id"] for s in after["seatAvailability"] if s["state"] == "RESERVED"}
    assert reserved == set(taken)
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == len(taken)
