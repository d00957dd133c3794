"""Concurrent simple orders of one ticket type share transactions (group commit) and get
exactly the answers single orders would."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from server.db import Database
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors


async def test_a_burst_of_orders_shares_transactions_and_never_oversells(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=50, price="12.00", ticket_type={"maxPerOrder": 3})
    buyers = [await factories.register(gql) for _ in range(5)]

    results = await asyncio.gather(
        *[
            commerce.order(gql, sale, 1 + n % 3, token=buyers[n % 5].token if n % 2 else None)
            for n in range(60)
        ]
    )

    ok = [r for r in results if r["errors"] == []]
    sold = sum(len(r["order"]["items"]) and r["order"]["items"][0]["quantity"] for r in ok)
    assert sold <= 50
    assert {payload_errors(r)[0][0] for r in results if r["errors"]} <= {
        "SOLD_OUT",
        "LIMIT_EXCEEDED",
    }
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == sold
    assert row["available"] == 50 - sold
    assert all(
        r["order"]["total"]["amount"] == f"{12 * r['order']['items'][0]['quantity']}.00" for r in ok
    )
    async with db.read() as session:
        orders = await session.scalar(text("SELECT count(*) FROM orders"))
        created = await session.scalar(
            text("SELECT count(*) FROM outbox_events WHERE event_type = 'order.created'")
        )
    assert orders == created == len(ok)


async def test_batched_and_single_orders_refuse_bad_input_the_same_way(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10, ticket_type={"maxPerOrder": 2})
    draft = await commerce.sale(gql, quantity=10, publish=False)

    too_many, draft_order, bad_email = await asyncio.gather(
        commerce.order(gql, sale, 3),
        commerce.order(gql, draft, 1),
        commerce.order(gql, sale, 1, buyer_email="not-an-email"),
    )

    assert payload_errors(too_many) == [("LIMIT_EXCEEDED", ["items", "0", "quantity"])]
    assert payload_errors(draft_order) == [("NOT_FOUND", ["eventId"])]
    assert payload_errors(bad_email) == [("VALIDATION", ["buyerEmail"])]


async def test_a_sold_out_batch_refuses_everyone_past_the_last_ticket(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=7)

    results = await asyncio.gather(*[commerce.order(gql, sale, 1) for _ in range(20)])

    assert sum(1 for r in results if r["errors"] == []) == 7
    refusals = [payload_errors(r)[0] for r in results if r["errors"]]
    assert refusals == [("SOLD_OUT", ["items", "0", "quantity"])] * 13
