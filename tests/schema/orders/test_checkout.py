"""Checkout in one request: `createOrder(input: {..., payment: {provider}})` answers with the
order and its first payment. TEST pays in the order's transaction; Stripe and Paystack are
asked after the commit (the fakes speak their real protocols, the official SDK is pointed
at them), with the payment's id as the idempotency key. A provider that fails leaves a
pending order that createPayment pays later."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from server.db import Database
from tests.fakes.paystack_server import FakePaystack
from tests.fakes.stripe_server import FakeStripe
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors

CHECKOUT = """
mutation($input: CreateOrderInput!) {
  createOrder(input: $input) {
    order { id status total { amount currency } fees { amount }
            payments { id provider status reference clientSecret authorizationUrl amount { amount } } }
    errors { field message code }
  }
}
"""
STATUS = "query($id: ID!) { order(id: $id) { status payments { provider status } } }"


async def _checkout(
    gql: GraphQLClient,
    sale: commerce.Sale,
    provider: str,
    *,
    token: str | None = None,
    quantity: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "eventId": sale.event_id,
        "items": [{"ticketTypeId": sale.ticket_type_id, "quantity": quantity}],
        "payment": {"provider": provider},
        **extra,
    }
    if token is None:
        body.setdefault("buyerEmail", factories.unique_email("guest"))
    data = await gql(CHECKOUT, {"input": body}, token=token)
    return dict(data["createOrder"])


async def _counts(db: Database) -> tuple[int, int]:
    async with db.read() as session:
        orders = await session.scalar(text("SELECT count(*) FROM orders"))
        payments = await session.scalar(text("SELECT count(*) FROM payments"))
    return int(orders or 0), int(payments or 0)


async def test_a_test_checkout_pays_in_one_request_and_the_payment_confirms_it(
    gql: GraphQLClient, client: httpx.AsyncClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=5, price="30.00")
    buyer = await factories.register(gql)

    placed = await _checkout(gql, sale, "TEST", token=buyer.token, quantity=2)

    assert placed["errors"] == []
    order = placed["order"]
    [payment] = order["payments"]
    assert (payment["provider"], payment["status"]) == ("TEST", "PENDING")
    assert payment["amount"] == {"amount": order["total"]["amount"]} == {"amount": "60.00"}
    paid = await client.post(
        f"/payments/test/{payment['reference']}/succeed",
        json={"clientSecret": payment["clientSecret"]},
    )
    assert paid.status_code == 200, paid.text
    seen = (await gql(STATUS, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen == {
        "status": "CONFIRMED",
        "payments": [{"provider": "TEST", "status": "SUCCEEDED"}],
    }
    assert await _counts(db) == (1, 1)


async def test_a_stripe_checkout_asks_stripe_after_the_commit_with_the_payment_as_its_key(
    payments_http: httpx.AsyncClient, payments_url: str, fake_stripe: FakeStripe
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=5, price="100.00")
    buyer = await factories.register(live)

    placed = await _checkout(live, sale, "STRIPE", token=buyer.token)

    assert placed["errors"] == []
    order = placed["order"]
    [payment] = order["payments"]
    assert payment["provider"] == "STRIPE" and payment["clientSecret"]
    assert order["fees"]["amount"] == "3.20"  # Stripe's 2.9% + 0.30 on 100.00
    assert payment["amount"]["amount"] == order["total"]["amount"] == "103.20"
    [created] = [r for r in fake_stripe.requests if r.path == "/v1/payment_intents"]
    assert created.idempotency_key == payment["id"]
    intent_id = next(iter(fake_stripe.intents))
    delivered = await fake_stripe.deliver(
        f"{payments_url}/webhooks/stripe", fake_stripe.succeed(intent_id)
    )
    assert delivered.status_code == 200
    seen = (await live(STATUS, {"id": order["id"]}, token=buyer.token))["order"]
    assert seen["status"] == "CONFIRMED"


async def test_a_paystack_checkout_answers_with_the_authorization_url(
    payments_http: httpx.AsyncClient, fake_paystack: FakePaystack
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=5, price="5000.00", currency="NGN")

    placed = await _checkout(live, sale, "PAYSTACK")

    assert placed["errors"] == []
    [payment] = placed["order"]["payments"]
    assert payment["provider"] == "PAYSTACK"
    assert payment["authorizationUrl"] and payment["authorizationUrl"].startswith("http")
    assert payment["reference"] in fake_paystack.transactions


async def test_a_failing_provider_leaves_a_pending_order_that_create_payment_pays_later(
    payments_http: httpx.AsyncClient, fake_stripe: FakeStripe, db: Database
) -> None:
    live = GraphQLClient(payments_http)
    sale = await commerce.sale(live, quantity=5, price="40.00")
    buyer = await factories.register(live)
    fake_stripe.fail_next(count=5, status=500)  # the SDK retries; every attempt fails

    placed = await _checkout(live, sale, "STRIPE", token=buyer.token, idempotencyKey="co-1")
    fake_stripe.reset()
    retried = await _checkout(live, sale, "STRIPE", token=buyer.token, idempotencyKey="co-1")
    later = await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": placed["order"]["id"], "provider": "STRIPE"}},
        token=buyer.token,
    )

    order = placed["order"]
    assert order["status"] == "PENDING"
    assert [(e["code"], e["field"]) for e in placed["errors"]] == [("PAYMENT_FAILED", None)]
    assert [p["status"] for p in order["payments"]] == ["FAILED"]
    # The retry of the same checkout is the same order, now with its intent.
    assert retried["errors"] == [] and retried["order"]["id"] == order["id"]
    assert [p["status"] for p in retried["order"]["payments"]] == ["PENDING"]
    assert later["createPayment"]["errors"] == []
    assert later["createPayment"]["payment"]["id"] == retried["order"]["payments"][0]["id"]
    assert await _counts(db) == (1, 1)


async def test_a_provider_this_server_does_not_offer_places_no_order(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=5)

    refused = await _checkout(gql, sale, "PAYSTACK")  # no Paystack key in these settings

    assert refused["order"] is None
    assert payload_errors(refused) == [("VALIDATION", ["payment", "provider"])]
    assert await _counts(db) == (0, 0)
    [row] = await commerce.availability(gql, sale)
    assert row["reserved"] == 0


async def test_a_free_checkout_is_confirmed_with_no_payment(gql: GraphQLClient) -> None:
    sale = await commerce.sale(gql, quantity=5, price="0")
    buyer = await factories.register(gql)

    placed = await _checkout(gql, sale, "TEST", token=buyer.token)

    assert placed["errors"] == []
    assert placed["order"]["status"] == "CONFIRMED"
    assert placed["order"]["payments"] == []


async def test_a_retried_test_checkout_returns_the_same_order_and_payment(
    gql: GraphQLClient, db: Database
) -> None:
    sale = await commerce.sale(gql, quantity=5)
    buyer = await factories.register(gql)

    first = await _checkout(gql, sale, "TEST", token=buyer.token, idempotencyKey="same")
    again = await _checkout(gql, sale, "TEST", token=buyer.token, idempotencyKey="same")
    other = await _checkout(gql, sale, "TEST", token=buyer.token, idempotencyKey="same", quantity=2)

    assert again["order"]["id"] == first["order"]["id"]
    assert again["order"]["payments"] == first["order"]["payments"]
    assert payload_errors(other) == [("CONFLICT", ["idempotencyKey"])]
    assert await _counts(db) == (1, 1)
