"""Group commit for every order shape: concurrent orders of one sale share transactions,
whatever they carry, and each gets the outcome it would have had alone (no oversell, promo
and per-buyer limits hold, one order per idempotency key). Each test sends its orders as
real concurrent requests through the API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from server.config import Settings
from server.db import Database
from tests.conftest import running_app
from tests.schema.promotions.helpers import create_promotion
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors

HOLD = """
mutation($i: CreateHoldInput!) { createHold(input: $i) { hold { token } errors { code } } }
"""
ORDER_WITH_PAYMENTS = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id status total { amount } items { quantity unitPrice { amount } }
            payments { provider status clientSecret amount { amount } } }
    errors { field message code }
  }
}
"""


async def _transactions(db: Database, event_id: str) -> tuple[int, int]:
    """(orders, distinct transactions that inserted them) of an event."""
    async with db.read() as session:
        row = (
            await session.execute(
                text("SELECT count(*), count(DISTINCT xmin::text) FROM orders WHERE event_id = :e"),
                {"e": event_id},
            )
        ).one()
    return int(row[0]), int(row[1])


def _ok(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in results if r["errors"] == []]


def _refusals(results: list[dict[str, Any]]) -> set[tuple[str, tuple[str, ...]]]:
    """The distinct (code, field) of the refused orders' first error."""
    return {
        (code, tuple(field or ()))
        for code, field in (payload_errors(r)[0] for r in results if r["errors"])
    }


async def test_signed_in_buyers_with_idempotency_keys_share_transactions_and_get_one_order_per_key(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=30, ticket_type={"maxPerOrder": 2})
    buyers = [await factories.register(gql) for _ in range(20)]
    keys = [str(uuid.uuid4()) for _ in buyers]

    # Every buyer sends the same order three times at once (a client retrying a timeout).
    results = await asyncio.gather(
        *[
            commerce.order(gql, sale, 2, token=buyer.token, idempotencyKey=key)
            for buyer, key in zip(buyers, keys, strict=True)
            for _ in range(3)
        ]
    )

    by_buyer = [results[n * 3 : n * 3 + 3] for n in range(len(buyers))]
    winners = [b for b in by_buyer if b[0]["errors"] == []]
    for answers in by_buyer:  # the three answers of one key are one answer
        assert len({str(a["order"] and a["order"]["id"]) for a in answers}) == 1
        assert len({str(payload_errors(a)) for a in answers}) == 1
    assert len(winners) == 15  # 30 tickets, 2 each
    assert {payload_errors(b[0])[0][0] for b in by_buyer if b[0]["errors"]} == {"SOLD_OUT"}
    orders, transactions = await _transactions(db, sale.event_id)
    assert orders == 15
    assert transactions < orders
    [row] = await commerce.availability(gql, sale)
    assert (row["reserved"], row["available"]) == (30, 0)
    async with db.read() as session:
        stored = await session.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE order_id IS NOT NULL")
        )
        unused = await session.scalar(
            text("SELECT count(*) FROM idempotency_keys WHERE order_id IS NULL")
        )
    assert (stored, unused) == (15, 0)  # a refused order leaves its key unused


async def test_a_refused_keyed_order_can_be_retried_with_other_input(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=1, ticket_type={"maxPerOrder": 5})
    buyer = await factories.register(gql)
    await commerce.order(gql, sale, 1)

    refused = await commerce.order(gql, sale, 2, token=buyer.token, idempotencyKey="k-1")
    other_type = await commerce.add_ticket_type(gql, sale, quantity=5)
    retried = await commerce.order(
        gql, sale, 2, token=buyer.token, idempotencyKey="k-1", ticket_type_id=other_type
    )

    assert payload_errors(refused) == [("SOLD_OUT", ["items", "0", "quantity"])]
    assert retried["errors"] == []


async def test_api_key_orders_share_transactions_and_never_oversell(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=25)
    key = await factories.create_api_key(gql, sale.org, ["orders:write", "orders:read"])
    other_org = await factories.create_org(gql)
    foreign_key = await factories.create_api_key(gql, other_org, ["orders:write"])

    results = await asyncio.gather(
        *[
            commerce.order(
                gql,
                sale,
                1,
                token=key,
                buyer_email=f"box-office-{n}@example.com",
                idempotencyKey=f"box-office-{n}",
            )
            for n in range(40)
        ],
        commerce.order(gql, sale, 1, token=foreign_key, buyer_email="x@example.com"),
    )

    *mine, foreign = results
    assert len(_ok(mine)) == 25
    assert {payload_errors(r)[0][0] for r in mine if r["errors"]} == {"SOLD_OUT"}
    assert payload_errors(foreign) == [("NOT_FOUND", ["eventId"])]
    orders, transactions = await _transactions(db, sale.event_id)
    assert orders == 25 and transactions < orders


async def test_a_promo_code_spends_exactly_its_uses_under_concurrency(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=100, price="10.00")
    created = await create_promotion(
        gql, sale.org.id, token=sale.org.owner.token, codes=["FIVEUSES"], maxUses=5
    )
    assert created["errors"] == []
    buyers = [await factories.register(gql) for _ in range(4)]

    results = await asyncio.gather(
        *[
            commerce.order(
                gql,
                sale,
                1,
                token=buyers[n % 4].token,
                promoCode="fiveuses",
                idempotencyKey=f"p{n}",
            )
            for n in range(20)
        ]
    )

    discounted = _ok(results)
    assert len(discounted) == 5
    assert all(r["order"]["discount"]["amount"] == "2.00" for r in discounted)
    assert _refusals(results) == {("INVALID_PROMO_CODE", ("promoCode",))}
    async with db.read() as session:
        used = await session.scalar(text("SELECT used FROM promo_codes"))
        redemptions = await session.scalar(text("SELECT count(*) FROM promo_redemptions"))
    assert (used, redemptions) == (5, 5)
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == 5  # a refused code takes no ticket


async def test_a_per_buyer_promo_limit_and_a_per_buyer_ticket_limit_hold_under_concurrency(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql, quantity=100, ticket_type={"maxPerBuyer": 3})
    await create_promotion(
        gql, sale.org.id, token=sale.org.owner.token, codes=["ONCEEACH"], maxUsesPerUser=1
    )
    buyer = await factories.register(gql)

    coded, plain = await asyncio.gather(
        asyncio.gather(
            *[
                commerce.order(gql, sale, 1, token=buyer.token, promoCode="ONCEEACH")
                for _ in range(4)
            ]
        ),
        asyncio.gather(*[commerce.order(gql, sale, 1, token=buyer.token) for _ in range(4)]),
    )

    ok = _ok([*coded, *plain])
    assert len(ok) == 3  # the ticket limit
    assert sum(1 for r in ok if r["order"]["discount"]["amount"] != "0.00") <= 1
    codes = {payload_errors(r)[0][0] for r in [*coded, *plain] if r["errors"]}
    assert codes <= {"LIMIT_EXCEEDED", "INVALID_PROMO_CODE"} and "LIMIT_EXCEEDED" in codes
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == 3


async def test_orders_of_several_lines_take_all_their_lines_or_none(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10)
    second = await commerce.add_ticket_type(gql, sale, quantity=6)

    results = await asyncio.gather(
        *[
            commerce.order(
                gql,
                sale,
                2,
                items=[
                    {"ticketTypeId": sale.ticket_type_id, "quantity": 2},
                    {"ticketTypeId": second, "quantity": 1},
                ],
            )
            for _ in range(10)
        ]
    )

    assert len(_ok(results)) == 5  # ten tickets of the first type, two per order
    rows = {r["ticketTypeId"]: r for r in await commerce.availability(gql, sale)}
    assert rows[sale.ticket_type_id]["reserved"] == 10
    assert rows[second]["reserved"] == 5  # the refused orders took none of their second line


async def test_shared_capacity_holds_across_ticket_types_in_one_batch(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=10, capacity=12)
    vip = await commerce.add_ticket_type(gql, sale, quantity=10)

    results = await asyncio.gather(
        *[
            commerce.order(gql, sale, 1, ticket_type_id=vip if n % 2 else sale.ticket_type_id)
            for n in range(30)
        ]
    )

    assert len(_ok(results)) == 12
    assert {e["message"] for r in results for e in r["errors"]} == {
        "The venue is full for this date."
    }
    rows = await commerce.availability(gql, sale)
    assert sum(r["reserved"] for r in rows) == 12


async def test_a_quantity_price_tier_sells_exactly_its_units_in_one_batch(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=50, price="80.00")
    tier = await gql(
        """mutation($i: CreatePriceTierInput!) { createPriceTier(input: $i) { errors { code } } }""",
        {
            "i": {
                "ticketTypeId": sale.ticket_type_id,
                "name": "First five",
                "price": {"amount": "30.00", "currency": "USD"},
                "maxQuantity": 5,
            }
        },
        token=sale.org.owner.token,
    )
    assert tier["createPriceTier"]["errors"] == []

    results = await asyncio.gather(*[commerce.order(gql, sale, 2) for _ in range(8)])

    prices = [
        (item["unitPrice"]["amount"], item["quantity"])
        for r in _ok(results)
        for item in r["order"]["items"]
    ]
    assert sum(q for price, q in prices if price == "30.00") == 5
    assert sum(q for price, q in prices if price == "80.00") == 11
    async with db.read() as session:
        allocated = await session.scalar(text("SELECT allocated FROM price_tiers"))
    assert allocated == 5


async def test_a_hold_token_redeems_only_the_units_of_its_hold(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=20)
    held = await gql(
        HOLD,
        {
            "i": {
                "ticketTypeId": sale.ticket_type_id,
                "quantity": 5,
                "expiresAt": commerce.iso(datetime.now(UTC) + timedelta(days=20)),
            }
        },
        token=sale.org.owner.token,
    )
    token = held["createHold"]["hold"]["token"]

    with_token, without = await asyncio.gather(
        asyncio.gather(*[commerce.order(gql, sale, 2, holdToken=token) for _ in range(5)]),
        asyncio.gather(*[commerce.order(gql, sale, 4) for _ in range(5)]),
    )

    redeemed = sum(r["order"]["items"][0]["quantity"] for r in _ok(list(with_token)))
    assert redeemed == 4  # 2 + 2; a third order of 2 finds 1 left in the hold
    assert _refusals(list(with_token)) == {("VALIDATION", ("holdToken",))}
    assert len(_ok(list(without))) == 3  # 15 on general sale, 4 each
    [row] = await commerce.availability(gql, sale)
    assert (row["reserved"], row["held"], row["available"]) == (16, 1, 3)


async def test_private_ticket_types_sell_to_members_only_within_a_batch(
    gql: GraphQLClient,
) -> None:
    sale = await commerce.sale(gql, quantity=10, ticket_type={"visibility": "PRIVATE"})
    staff = await factories.add_member(gql, sale.org, "STAFF")
    stranger = await factories.register(gql)

    results = await asyncio.gather(
        *[commerce.order(gql, sale, 1, token=staff.token) for _ in range(3)],
        *[commerce.order(gql, sale, 1, token=stranger.token) for _ in range(3)],
        *[commerce.order(gql, sale, 1) for _ in range(3)],
    )

    assert [r["errors"] == [] for r in results] == [True] * 3 + [False] * 6
    assert _refusals(results[3:]) == {("NOT_FOUND", ("items", "0", "ticketTypeId"))}


async def test_checkout_in_one_request_with_test_pays_every_order_of_a_batch(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=10, price="15.00")
    buyers = [await factories.register(gql) for _ in range(12)]

    results = await asyncio.gather(
        *[
            gql(
                ORDER_WITH_PAYMENTS,
                {
                    "input": {
                        "eventId": sale.event_id,
                        "items": [{"ticketTypeId": sale.ticket_type_id, "quantity": 1}],
                        "idempotencyKey": f"checkout-{n}",
                        "payment": {"provider": "TEST"},
                    }
                },
                token=buyer.token,
            )
            for n, buyer in enumerate(buyers)
        ]
    )

    payloads = [r["createOrder"] for r in results]
    placed = _ok(payloads)
    assert len(placed) == 10
    for p in placed:
        [payment] = p["order"]["payments"]
        assert payment["provider"] == "TEST" and payment["status"] == "PENDING"
        assert payment["clientSecret"] and payment["amount"] == p["order"]["total"]
    async with db.read() as session:
        stored = await session.scalar(text("SELECT count(*) FROM payments"))
    assert stored == 10
    orders, transactions = await _transactions(db, sale.event_id)
    assert orders == 10 and transactions < orders


async def test_a_batch_that_fails_as_a_whole_is_decided_order_by_order(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    """A row held elsewhere past the lock timeout fails the batch; each order is then tried
    alone, and one that cannot get the row either is a clear CONFLICT, nothing left behind."""
    async with running_app(make_settings(order_lock_timeout=300)) as (_, client):
        gql = GraphQLClient(client)
        sale = await commerce.sale(gql, quantity=10)
        async with db.engine.connect() as holder:
            transaction = await holder.begin()
            await holder.execute(
                text("SELECT 1 FROM inventory WHERE ticket_type_id = :t FOR UPDATE"),
                {"t": sale.ticket_type_id},
            )
            blocked = await asyncio.gather(*[commerce.order(gql, sale, 1) for _ in range(3)])
            await transaction.rollback()
        after = await commerce.order(gql, sale, 1)

    assert _refusals(blocked) == {("CONFLICT", ())}
    assert {e["message"] for r in blocked for e in r["errors"]} == {
        "Tickets are in high demand right now; please try again."
    }
    assert after["errors"] == []
    orders, _ = await _transactions(db, sale.event_id)
    assert orders == 1
