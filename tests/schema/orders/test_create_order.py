from __future__ import annotations

import asyncio

from redis.asyncio import Redis
from sqlalchemy import text

from server.db import Database
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors


async def test_an_order_reserves_tickets_until_it_expires(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10, price="25.00")

    placed = await commerce.order(gql, sale, 3)

    assert placed["errors"] == []
    order = placed["order"]
    assert order["status"] == "PENDING"
    assert order["subtotal"]["amount"] == "75.00"
    assert order["total"] == {"amount": "75.00", "currency": "USD"}
    assert order["expiresAt"] is not None
    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["reserved"], row["sold"]) == (7, 3, 0)


async def test_a_buyer_cancels_and_the_tickets_go_back_on_sale_once(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 4, token=buyer.token))["order"]
    cancel = "mutation($id: ID!) { cancelOrder(id: $id) { order { status } errors { code } } }"

    first, second = await asyncio.gather(
        gql(cancel, {"id": order["id"]}, token=buyer.token),
        gql(cancel, {"id": order["id"]}, token=buyer.token),
    )

    outcomes = sorted([first["cancelOrder"], second["cancelOrder"]], key=str)
    assert {"order": {"status": "CANCELLED"}, "errors": []} in outcomes
    assert {"order": None, "errors": [{"code": "INVALID_STATE"}]} in outcomes
    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["reserved"]) == (10, 0)


async def test_the_same_idempotency_key_returns_the_same_order_and_reserves_once(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)

    results = await asyncio.gather(
        *[
            commerce.order(gql, sale, 2, token=buyer.token, idempotencyKey="checkout-42")
            for _ in range(5)
        ]
    )
    changed = await commerce.order(gql, sale, 3, token=buyer.token, idempotencyKey="checkout-42")
    other_buyer = await factories.register(gql)
    theirs = await commerce.order(
        gql, sale, 1, token=other_buyer.token, idempotencyKey="checkout-42"
    )

    assert {r["order"]["id"] for r in results} == {results[0]["order"]["id"]}
    assert payload_errors(changed) == [("CONFLICT", ["idempotencyKey"])]
    assert (
        theirs["errors"] == [] and theirs["order"]["id"] != results[0]["order"]["id"]
    )  # keys are per caller
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == 3


async def test_bad_orders_get_clear_errors_and_change_nothing(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10, ticket_type={"maxPerOrder": 4, "minPerOrder": 2})
    other = await commerce.sale(gql, quantity=10)
    draft = await commerce.sale(gql, quantity=10, publish=False)
    buyer = await factories.register(gql)

    cases = {
        "unknown type": await commerce.order(
            gql, sale, 2, token=buyer.token, ticket_type_id="01a21299-913e-7233-80f3-185623384b5e"
        ),
        "other event's type": await commerce.order(
            gql, sale, 2, token=buyer.token, ticket_type_id=other.ticket_type_id
        ),
        "above max": await commerce.order(gql, sale, 5, token=buyer.token),
        "below min": await commerce.order(gql, sale, 1, token=buyer.token),
        "zero": await commerce.order(gql, sale, 0, token=buyer.token),
        "draft": await commerce.order(gql, draft, 2, token=buyer.token),
        "seats for GA": await commerce.order(
            gql, sale, 2, token=buyer.token, item={"seatIds": [sale.event_id, sale.org.id]}
        ),
        "bad email": await commerce.order(gql, sale, 2, buyer_email="not-an-email"),
        "bad id": await commerce.order(gql, sale, 2, token=buyer.token, ticket_type_id="nope"),
        "expired hold": await commerce.order(
            gql, sale, 2, token=buyer.token, holdToken="no-such-token"
        ),
    }

    codes = {name: payload_errors(result)[0] for name, result in cases.items()}
    assert codes == {
        "unknown type": ("NOT_FOUND", ["items", "0", "ticketTypeId"]),
        "other event's type": ("NOT_FOUND", ["items", "0", "ticketTypeId"]),
        "above max": ("LIMIT_EXCEEDED", ["items", "0", "quantity"]),
        "below min": ("LIMIT_EXCEEDED", ["items", "0", "quantity"]),
        "zero": ("VALIDATION", ["items", "0", "quantity"]),
        "draft": ("NOT_FOUND", ["eventId"]),
        "seats for GA": ("VALIDATION", ["items", "0", "seatIds"]),
        "bad email": ("VALIDATION", ["buyerEmail"]),
        "bad id": ("VALIDATION", ["items", "0", "ticketTypeId"]),
        "expired hold": ("NOT_FOUND", ["holdToken"]),
    }
    assert all(result["order"] is None for result in cases.values())
    for s in (sale, other):
        [row] = await commerce.availability(gql, s)
        assert (row["available"], row["reserved"]) == (10, 0)


async def test_an_expired_order_frees_its_tickets_before_any_job_runs(
    gql: GraphQLClient, db: Database, redis: Redis
) -> None:
    sale = await commerce.sale(gql, quantity=5)
    order = (await commerce.order(gql, sale, 5))["order"]
    assert (await commerce.order(gql, sale, 1))["errors"][0]["code"] == "SOLD_OUT"
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": order["id"]},
        )
    # The expiry moved behind the app's back: the sold-out note, which never outlives the
    # first expiry it knows of, goes as that expiry would have taken it.
    assert await redis.delete(*await redis.keys("soldout:*")) == 1

    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["reserved"]) == (5, 0)
    again = await commerce.order(gql, sale, 5)

    assert again["errors"] == []
    async with db.read() as session:
        status = await session.scalar(
            text("SELECT status FROM orders WHERE id = :id"), {"id": order["id"]}
        )
    assert status == "cancelled"


async def test_a_per_buyer_limit_holds_under_concurrent_orders(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=100, ticket_type={"maxPerBuyer": 3})
    buyer = await factories.register(gql)

    results = await asyncio.gather(
        *[commerce.order(gql, sale, 1, token=buyer.token) for _ in range(10)]
    )

    assert sum(1 for r in results if r["errors"] == []) == 3
    assert {payload_errors(r)[0][0] for r in results if r["errors"]} == {"LIMIT_EXCEEDED"}
