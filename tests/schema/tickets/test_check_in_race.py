"""The same ticket scanned 20 times at once, through real HTTP against two live app
processes: exactly one check-in, and 19 ALREADY_CHECKED_IN answers carrying its time."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from server.db import Database
from tests.schema.tickets.helpers import CHECK_IN, purchase
from tests.support import factories
from tests.support.gql import GraphQLClient
from tests.support.live import live_servers
from tests.support.services import ServiceUrls

pytestmark = pytest.mark.live


async def test_the_same_ticket_scanned_20_times_at_once_checks_in_once(
    gql: GraphQLClient,
    client: httpx.AsyncClient,
    services: ServiceUrls,
    db: Database,
    tmp_path: Path,
) -> None:
    bought = await purchase(gql, client)
    staff = await factories.add_member(gql, bought.sale.org, "STAFF")
    variables = {"input": {"qrCode": bought.ticket["qrCode"], "location": "Gate"}}

    with live_servers(services.database_url, services.redis_url, tmp_path, count=2) as servers:
        clients = [httpx.AsyncClient(base_url=s.url, timeout=60) for s in servers]
        try:
            responses = await asyncio.gather(
                *[
                    GraphQLClient(clients[n % 2])(CHECK_IN, variables, token=staff.token)
                    for n in range(20)
                ]
            )
        finally:
            for http in clients:
                await http.aclose()

    results = [r["checkIn"] for r in responses]
    [winner] = [r for r in results if r["errors"] == []]
    losers = [r for r in results if r["errors"]]
    first_at = winner["checkIn"]["at"]
    assert len(losers) == 19
    assert {e["code"] for r in losers for e in r["errors"]} == {"ALREADY_CHECKED_IN"}
    assert {r["checkIn"] for r in losers} == {None}
    assert {tuple(c["at"] for c in r["ticket"]["checkIns"]) for r in losers} == {(first_at,)}
    assert {r["ticket"]["status"] for r in results} == {"USED"}
    async with db.read() as session:
        check_ins = await session.scalar(
            text("SELECT count(*) FROM check_ins WHERE ticket_id = :id"),
            {"id": bought.ticket["id"]},
        )
        outbox = await session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE event_type = 'ticket.checkedin'")
        )
    assert (check_ins, outbox) == (1, 1)
