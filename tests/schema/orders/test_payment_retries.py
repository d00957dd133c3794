"""`createPayment` tried again after the provider failed or its answer was lost: the same
payment row carries on, and the buyer gets a working intent (fake servers speaking
Stripe's and Paystack's real formats)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import text

from server.db import Database
from tests.fakes.paystack_server import FakePaystack
from tests.fakes.stripe_server import FakeStripe
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

STATUS = "query($id: ID!) { order(id: $id) { status payments { status } } }"
PAYMENTS = "SELECT status, reference, provider_ref FROM payments WHERE order_id = :id"


async def _order(live: GraphQLClient, currency: str) -> tuple[str, str]:
    sale = await commerce.sale(live, quantity=10, currency=currency)
    buyer = await factories.register(live)
    order = (await commerce.order(live, sale, 1, token=buyer.token))["order"]
    return buyer.token, order["id"]


async def _pay(live: GraphQLClient, token: str, order_id: str, provider: str) -> dict[str, Any]:
    data = await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order_id, "provider": provider, "idempotencyKey": "attempt-1"}},
        token=token,
    )
    return dict(data["createPayment"])


async def _rows(db: Database, order_id: str) -> list[tuple[Any, ...]]:
    async with db.read() as session:
        return [tuple(r) for r in await session.execute(text(PAYMENTS), {"id": order_id})]


async def test_a_paystack_payment_whose_answer_was_lost_is_retried_under_a_new_reference(
    payments_http: httpx.AsyncClient,
    payments_url: str,
    fake_paystack: FakePaystack,
    db: Database,
) -> None:
    live = GraphQLClient(payments_http)
    token, order_id = await _order(live, "NGN")
    fake_paystack.lose_next()  # Paystack initializes the transaction; we never hear back

    lost = await _pay(live, token, order_id, "PAYSTACK")
    [(status, first_reference, _)] = await _rows(db, order_id)
    retried = await _pay(live, token, order_id, "PAYSTACK")

    assert lost["payment"] is None and lost["errors"][0]["code"] == "PAYMENT_FAILED"
    assert status == "failed"
    assert retried["errors"] == []
    payment = retried["payment"]
    assert payment["status"] == "PENDING" and payment["authorizationUrl"]
    assert payment["reference"] != first_reference
    assert set(fake_paystack.transactions) == {first_reference, payment["reference"]}
    assert await _rows(db, order_id) == [("pending", payment["reference"], payment["reference"])]

    event = fake_paystack.charge_success(payment["reference"])
    delivered = await fake_paystack.deliver(f"{payments_url}/webhooks/paystack", event)

    assert delivered.status_code == 200
    seen = (await live(STATUS, {"id": order_id}, token=token))["order"]
    assert seen == {"status": "CONFIRMED", "payments": [{"status": "SUCCEEDED"}]}


async def test_a_stripe_payment_retried_after_a_failure_is_pending_not_failed(
    payments_http: httpx.AsyncClient, fake_stripe: FakeStripe, db: Database
) -> None:
    live = GraphQLClient(payments_http)
    token, order_id = await _order(live, "USD")
    fake_stripe.fail_next(3, status=500)  # the SDK's own retries are spent too

    failed = await _pay(live, token, order_id, "STRIPE")
    retried = await _pay(live, token, order_id, "STRIPE")
    again = await _pay(live, token, order_id, "STRIPE")

    assert failed["payment"] is None and failed["errors"][0]["code"] == "PAYMENT_FAILED"
    assert retried["errors"] == [] and retried["payment"]["status"] == "PENDING"
    assert retried["payment"]["clientSecret"]
    assert again["payment"] == retried["payment"]  # the same intent, not a second one
    assert len(fake_stripe.intents) == 1
    [(status, reference, provider_ref)] = await _rows(db, order_id)
    assert (status, reference) == ("pending", retried["payment"]["reference"])
    assert provider_ref == next(iter(fake_stripe.intents))
