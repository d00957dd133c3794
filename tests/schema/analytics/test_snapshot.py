"""One eventAnalytics answer is one snapshot: while orders are paid, refunded and checked
in, and the rollup folds, the series of every answer (by the day and the hour from the
rollup plus the live tail, by the minute read live) add up to its totals."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import httpx

from server.app_state import AppState
from tests.schema.tickets.helpers import check_in, my_tickets
from tests.support import commerce, factories
from tests.support.analytics import ANALYTICS, analytics, cents, fold_now, pay, refund
from tests.support.gql import GraphQLClient

ORDERS = 30
WITH_MINUTES = ANALYTICS.replace(
    "checkIns(interval: HOUR)",
    "minutely: sales(interval: MINUTE) { at orders tickets gross { amount } refunds { amount } }"
    " checkIns(interval: HOUR)",
)


def assert_consistent(data: dict[str, Any]) -> None:
    """No full refunds in this traffic, so every paid ticket is still sold."""
    for series in ("daily", "hourly", "minutely"):
        points = data[series]
        assert sum(p["orders"] for p in points) == data["ordersConfirmed"], series
        assert sum(p["tickets"] for p in points) == data["ticketsSold"], series
        assert sum(cents(p["gross"]["amount"]) for p in points) == cents(data["gross"]["amount"])
        assert sum(cents(p["refunds"]["amount"]) for p in points) == cents(
            data["refunds"]["amount"]
        )
    assert sum(p["checkIns"] for p in data["checkIns"]) == data["checkedIn"]
    assert sum(cents(t["gross"]["amount"]) for t in data["byTicketType"]) == cents(
        data["gross"]["amount"]
    )


async def test_totals_and_series_agree_in_every_answer_under_live_traffic(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState
) -> None:
    """Waves of orders, payments, partial refunds and check-ins with readers alongside;
    between waves the rollup folds while readers read (so answers straddle the mark)."""
    sale = await commerce.sale(gql, quantity=200, dates=2)
    await commerce.add_ticket_type(gql, sale, quantity=100, price="60.00")
    buyers = [await factories.register(gql) for _ in range(3)]
    answers: list[dict[str, Any]] = []

    async def buy(n: int) -> None:
        buyer = buyers[n % len(buyers)]
        extra = {"ticket_type_id": sale.ticket_type_ids[1]} if n % 3 == 0 else {}
        order = await pay(
            gql, client, sale, buyer, 1 + n % 2, occurrenceId=sale.occurrence_ids[n % 2], **extra
        )
        if n % 5 == 0:
            await refund(gql, sale, order["id"], 250)
        if n % 4 == 0:
            mine = [t for t in await my_tickets(gql, buyer) if t["event"]["id"] == sale.event_id]
            unused = [t for t in mine if t["status"] == "VALID"]
            if unused:
                await check_in(gql, unused[0]["qrCode"], token=sale.org.owner.token)

    async def read_until(done: asyncio.Event) -> None:
        while not done.is_set():
            answers.append(await analytics(gql, sale, query=WITH_MINUTES))
            answers.append(await analytics(gql, sale, sale.occurrence_ids[0], query=WITH_MINUTES))

    async def alongside(work: Awaitable[Any]) -> None:
        done = asyncio.Event()

        async def run() -> None:
            await work
            done.set()

        await asyncio.gather(run(), read_until(done), read_until(done))

    for wave in range(3):
        await alongside(asyncio.gather(*(buy(wave * 10 + n) for n in range(10))))
        await alongside(asyncio.gather(*(fold_now(state.db, sale.event_id) for _ in range(2))))
    answers.append(await analytics(gql, sale, query=WITH_MINUTES))

    for answer in answers:
        assert_consistent(answer)
    final = answers[-1]
    assert final["ordersConfirmed"] == ORDERS
    assert cents(final["refunds"]["amount"]) == 250 * len(range(0, ORDERS, 5))
    assert len({a["ordersConfirmed"] for a in answers}) > 3  # read while the numbers moved
