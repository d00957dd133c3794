from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import httpx
from sqlalchemy import text

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.orders import lifecycle
from server.payments import test_provider
from tests.fakes.stripe_server import FakeStripe
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors

ORDER = """
query($id: ID!) { order(id: $id) {
  id status total { amount currency } fees { amount } refunded { amount } disputeStatus
  payments { provider status amount { amount } }
  tickets { status holderEmail qrCode }
} }
"""
TICKETS = "SELECT status, count(*) FROM tickets WHERE order_id = :id GROUP BY status"
REFUND = """
mutation($input: RefundOrderInput!) {
  refundOrder(input: $input) { order { status refunded { amount } } errors { field message code } }
}
"""


async def _tickets(db: Database, order_id: str) -> dict[str, int]:
    async with db.read() as session:
        rows = await session.execute(text(TICKETS), {"id": order_id})
        return {status: count for status, count in rows}


async def test_a_test_payment_confirms_the_order_and_issues_one_ticket_per_admission(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=10, price="20.00")
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 3, token=buyer.token))["order"]

    await commerce.pay_with_test(gql, client, order["id"], token=buyer.token)

    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "CONFIRMED"
    assert seen["payments"] == [
        {"provider": "TEST", "status": "SUCCEEDED", "amount": {"amount": "60.00"}}
    ]
    assert await _tickets(db, order["id"]) == {"valid": 3}
    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["reserved"], row["sold"]) == (7, 0, 3)


async def test_a_failed_payment_leaves_the_order_pending_for_another_try(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]

    await commerce.pay_with_test(gql, client, order["id"], token=buyer.token, succeed=False)

    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "PENDING"
    assert [p["status"] for p in seen["payments"]] == ["FAILED"]
    assert await _tickets(db, order["id"]) == {}


async def test_a_free_order_is_confirmed_at_once(gql: GraphQLClient, db: Database) -> None:
    sale = await commerce.sale(gql, quantity=10, price="0")
    buyer = await factories.register(gql)

    order = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]

    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert (seen["status"], seen["total"]["amount"], seen["payments"]) == ("CONFIRMED", "0.00", [])
    assert await _tickets(db, order["id"]) == {"valid": 2}


async def test_platform_and_stripe_fees_are_added_to_the_total(
    payments_http: httpx.AsyncClient, make_settings: object
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=10, price="100.00")
    buyer = await factories.register(live)
    order = (await commerce.order(live, sale, 1, token=buyer.token))["order"]
    before = order["total"]["amount"]

    data = await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": "STRIPE"}},
        token=buyer.token,
    )
    payment = data["createPayment"]["payment"]
    seen = (await live(ORDER, {"id": order["id"]}, token=buyer.token))["order"]

    assert before == "100.00"
    # Stripe's published card fee on 100.00 USD: 2.9% + 0.30 = 3.20
    assert seen["fees"]["amount"] == "3.20"
    assert seen["total"]["amount"] == "103.20"
    assert payment["amount"] == {"amount": "103.20", "currency": "USD"}
    assert payment["clientSecret"]


async def test_the_same_stripe_event_delivered_10_times_at_once_issues_one_set_of_tickets(
    payments_http: httpx.AsyncClient, payments_url: str, fake_stripe: FakeStripe, db: Database
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=10)
    buyer = await factories.register(live)
    order = (await commerce.order(live, sale, 2, token=buyer.token))["order"]
    data = await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": "STRIPE"}},
        token=buyer.token,
    )
    intent_id = next(iter(fake_stripe.intents))
    assert data["createPayment"]["errors"] == []

    event = fake_stripe.succeed(intent_id)
    responses = await asyncio.gather(
        *[fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event) for _ in range(10)]
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert await _tickets(db, order["id"]) == {"valid": 2}
    seen = (await live(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "CONFIRMED"


async def test_a_paid_amount_that_differs_from_the_order_does_not_confirm_it(
    payments_http: httpx.AsyncClient, payments_url: str, fake_stripe: FakeStripe, db: Database
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=10)
    buyer = await factories.register(live)
    order = (await commerce.order(live, sale, 1, token=buyer.token))["order"]
    await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": "STRIPE"}},
        token=buyer.token,
    )
    intent_id = next(iter(fake_stripe.intents))
    event = fake_stripe.succeed(intent_id)
    event["data"]["object"]["amount"] = 1
    event["data"]["object"]["amount_received"] = 1

    response = await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event)

    assert response.status_code == 200
    seen = (await live(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "PENDING"
    assert await _tickets(db, order["id"]) == {}


async def test_a_payment_after_expiry_re_reserves_when_stock_allows(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=5)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    payment = (
        await gql(
            commerce.CREATE_PAYMENT,
            {"input": {"orderId": order["id"], "provider": "TEST"}},
            token=buyer.token,
        )
    )["createPayment"]["payment"]
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = :t WHERE id = :id"),
            {"t": utcnow() - timedelta(seconds=1), "id": order["id"]},
        )
    async with db.transaction() as session:
        assert await lifecycle.expire_due(session, now=utcnow()) == 1  # the expiry job's work
    await commerce.order(gql, sale, 1)
    async with db.read() as session:
        assert (
            await session.scalar(
                text("SELECT status FROM orders WHERE id = :id"), {"id": order["id"]}
            )
            == "cancelled"
        )

    response = await client.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )

    assert response.status_code == 200
    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "CONFIRMED"
    assert await _tickets(db, order["id"]) == {"valid": 2}
    [row] = await commerce.availability(gql, sale)
    assert (row["sold"], row["reserved"], row["available"]) == (2, 1, 2)


async def test_a_payment_after_expiry_is_refunded_when_stock_is_gone(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=2)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    payment = (
        await gql(
            commerce.CREATE_PAYMENT,
            {"input": {"orderId": order["id"], "provider": "TEST"}},
            token=buyer.token,
        )
    )["createPayment"]["payment"]
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = :t WHERE id = :id"),
            {"t": utcnow() - timedelta(seconds=1), "id": order["id"]},
        )
    assert (await commerce.order(gql, sale, 2))["errors"] == []  # someone else takes the stock

    await client.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )

    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "CANCELLED"
    assert [p["status"] for p in seen["payments"]] == ["REFUNDED"]
    async with db.read() as session:
        refund = (
            await session.execute(
                text("SELECT status, automatic, amount_minor FROM refunds WHERE order_id = :id"),
                {"id": order["id"]},
            )
        ).one()
    assert tuple(refund) == ("succeeded", True, 5000)
    assert await _tickets(db, order["id"]) == {}


async def test_refunds_partial_then_full_cancel_tickets_and_return_stock(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=10, price="30.00")
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 2, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, client, order["id"], token=buyer.token)

    partial = await gql(
        REFUND,
        {"input": {"orderId": order["id"], "amount": {"amount": "10.00", "currency": "USD"}}},
        token=sale.org.owner.token,
    )
    too_much = await gql(
        REFUND,
        {"input": {"orderId": order["id"], "amount": {"amount": "60.00", "currency": "USD"}}},
        token=sale.org.owner.token,
    )
    long_reason = await gql(
        REFUND,
        {"input": {"orderId": order["id"], "reason": "x" * 501}},
        token=sale.org.owner.token,
    )
    full = await gql(REFUND, {"input": {"orderId": order["id"]}}, token=sale.org.owner.token)
    again = await gql(REFUND, {"input": {"orderId": order["id"]}}, token=sale.org.owner.token)

    assert partial["refundOrder"] == {
        "order": {"status": "CONFIRMED", "refunded": {"amount": "10.00"}},
        "errors": [],
    }
    assert payload_errors(too_much["refundOrder"]) == [("VALIDATION", ["amount", "amount"])]
    assert too_much["refundOrder"]["errors"][0]["message"] == (
        "At most 50.00 USD can still be refunded."
    )
    assert payload_errors(long_reason["refundOrder"]) == [("VALIDATION", ["reason"])]
    assert full["refundOrder"] == {
        "order": {"status": "REFUNDED", "refunded": {"amount": "60.00"}},
        "errors": [],
    }
    assert payload_errors(again["refundOrder"]) == [("INVALID_STATE", ["orderId"])]
    assert await _tickets(db, order["id"]) == {"cancelled": 2}
    [row] = await commerce.availability(gql, sale)
    assert (row["available"], row["sold"]) == (10, 0)


async def test_only_managers_of_the_organization_refund_and_within_the_deadline(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(
        gql, cast.org, quantity=10, event={"policies": {"refundDeadlineHours": 24 * 60}}
    )
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]
    await commerce.pay_with_test(gql, client, order["id"], token=buyer.token)
    variables = {"input": {"orderId": order["id"]}}

    staff = await gql.errors(REFUND, variables, token=cast.staff.token)
    outsider = await gql(REFUND, variables, token=cast.outsider.token)
    anonymous = await gql.errors(REFUND, variables)
    late = await gql(REFUND, variables, token=cast.manager.token)

    assert staff[0]["extensions"]["code"] == "FORBIDDEN"
    assert payload_errors(outsider["refundOrder"]) == [("NOT_FOUND", ["orderId"])]
    assert anonymous[0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert payload_errors(late["refundOrder"]) == [
        ("INVALID_STATE", ["orderId"])
    ]  # 60 days before: closed


async def test_disputes_are_rows_and_the_order_follows_them(
    payments_http: httpx.AsyncClient, payments_url: str, fake_stripe: FakeStripe, db: Database
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=10)
    buyer = await factories.register(live)
    order = (await commerce.order(live, sale, 1, token=buyer.token))["order"]
    await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": "STRIPE"}},
        token=buyer.token,
    )
    intent_id = next(iter(fake_stripe.intents))
    await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", fake_stripe.succeed(intent_id))

    opened = fake_stripe.open_dispute(intent_id)
    await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", opened)
    during = (await live(ORDER, {"id": order["id"]}, token=buyer.token))["order"]["disputeStatus"]
    closed = fake_stripe.close_dispute(opened["data"]["object"]["id"], "lost")
    await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", closed)
    after = (await live(ORDER, {"id": order["id"]}, token=buyer.token))["order"]["disputeStatus"]

    assert (during, after) == ("OPEN", "LOST")
    async with db.read() as session:
        rows = (
            (
                await session.execute(
                    text("SELECT status FROM disputes WHERE order_id = :id"), {"id": order["id"]}
                )
            )
            .scalars()
            .all()
        )
    assert rows == ["lost"]


async def test_a_late_payment_whose_promo_code_ran_out_is_refunded(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    from tests.schema.promotions.helpers import create_promotion

    sale = await commerce.sale(gql, quantity=10, price="40.00")
    created = await create_promotion(
        gql,
        sale.org.id,
        token=sale.org.owner.token,
        kind="PERCENTAGE",
        percentOff=25,
        codes=["LATE25"],
        maxUses=1,
    )
    assert created["errors"] == []
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 1, token=buyer.token, promoCode="late25"))["order"]
    assert order["discount"]["amount"] == "10.00"
    payment = (
        await gql(
            commerce.CREATE_PAYMENT,
            {"input": {"orderId": order["id"], "provider": "TEST"}},
            token=buyer.token,
        )
    )["createPayment"]["payment"]
    async with db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = :t WHERE id = :id"),
            {"t": utcnow() - timedelta(seconds=1), "id": order["id"]},
        )
    async with db.transaction() as session:
        assert (
            await lifecycle.expire_due(session, now=utcnow()) == 1
        )  # the code's use comes back...
    other = await factories.register(gql)
    assert (await commerce.order(gql, sale, 1, token=other.token, promoCode="LATE25"))[
        "errors"
    ] == []  # ...and is taken

    await client.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )

    seen = (await gql(ORDER, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "CANCELLED"
    assert [p["status"] for p in seen["payments"]] == ["REFUNDED"]
    async with db.read() as session:
        used = await session.scalar(
            text("SELECT used FROM promo_codes WHERE lower(code) = 'late25'")
        )
    assert used == 1


async def test_a_provider_failure_message_with_a_nul_character_is_kept_readable(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=10)
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]
    created = await gql(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": "TEST"}},
        token=buyer.token,
    )
    key = test_provider.signing_key(settings)
    intent = test_provider.TestProvider(key=key).decode_client_secret(
        created["createPayment"]["payment"]["clientSecret"]
    )
    body = json.dumps(
        test_provider.build_event("payment.failed", intent, message="Card\x00declined")
    ).encode()

    response = await client.post(
        "/webhooks/test",
        content=body,
        headers={test_provider.SIGNATURE_HEADER: test_provider.sign_payload(body, key)},
    )

    assert (response.status_code, response.json()["outcome"]) == (200, "applied")
    seen = await gql(
        "query($id: ID!) { order(id: $id) { status payments { status failureReason } } }",
        {"id": order["id"]},
        token=buyer.token,
    )
    assert seen["order"] == {
        "status": "PENDING",
        "payments": [{"status": "FAILED", "failureReason": "Card\ufffddeclined"}],
    }


async def test_a_payment_of_another_amount_says_both_amounts_as_money(
    gql: GraphQLClient, client: httpx.AsyncClient, settings: Settings
) -> None:
    sale = await commerce.sale(gql, quantity=10, price="30.00")
    buyer = await factories.register(gql)
    order = (await commerce.order(gql, sale, 1, token=buyer.token))["order"]
    data = await gql(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": "TEST"}},
        token=buyer.token,
    )
    secret = data["createPayment"]["payment"]["clientSecret"]
    key = test_provider.signing_key(settings)
    intent = test_provider.TestProvider(key=key).decode_client_secret(secret)
    body = json.dumps(
        test_provider.build_event("payment.succeeded", intent, amount_minor=1050)
    ).encode()

    response = await client.post(
        "/webhooks/test",
        content=body,
        headers={test_provider.SIGNATURE_HEADER: test_provider.sign_payload(body, key)},
    )

    assert response.json()["error"] == {
        "code": "PAYMENT_FAILED",
        "message": "Paid 10.50 USD, expected 30.00 USD.",
    }
