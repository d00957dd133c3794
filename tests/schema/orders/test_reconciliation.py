"""Payments whose webhook never arrived are settled by asking the provider (fake servers
speaking Stripe's and Paystack's real formats)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import text

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.orders.reconciliation import reconcile_payments
from tests.fakes.paystack_server import FakePaystack
from tests.fakes.stripe_server import FakeStripe
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

STATUS = "query($id: ID!) { order(id: $id) { status payments { status } } }"


async def _pending_payment(
    http: httpx.AsyncClient, provider: str
) -> tuple[GraphQLClient, str, str, dict[str, str]]:
    live = GraphQLClient(http)
    currency = "NGN" if provider == "PAYSTACK" else "USD"
    sale = await commerce.sale(live, quantity=10, currency=currency)
    buyer = await factories.register(live)
    order = (await commerce.order(live, sale, 1, token=buyer.token))["order"]
    created = await live(
        commerce.CREATE_PAYMENT,
        {"input": {"orderId": order["id"], "provider": provider}},
        token=buyer.token,
    )
    assert created["createPayment"]["errors"] == [], created
    return live, buyer.token, order["id"], created["createPayment"]["payment"]


async def test_a_stripe_payment_without_its_webhook_is_confirmed_by_reconciliation(
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    db: Database,
) -> None:
    live, token, order_id, _payment = await _pending_payment(payments_http, "STRIPE")
    fake_stripe.succeed(next(iter(fake_stripe.intents)))  # paid; the webhook is lost

    too_early = await reconcile_payments(db, payment_settings, now=utcnow())
    report = await reconcile_payments(db, payment_settings, now=utcnow() + timedelta(minutes=3))
    again = await reconcile_payments(db, payment_settings, now=utcnow() + timedelta(minutes=3))

    assert too_early.checked == 0  # webhooks get a grace period first
    assert (report.checked, report.confirmed, report.mismatches) == (1, 1, 0)
    assert again.checked == 0
    seen = (await live(STATUS, {"id": order_id}, token=token))["order"]
    assert seen == {"status": "CONFIRMED", "payments": [{"status": "SUCCEEDED"}]}


async def test_a_paystack_payment_without_its_webhook_is_confirmed_by_reconciliation(
    payments_http: httpx.AsyncClient,
    fake_paystack: FakePaystack,
    payment_settings: Settings,
    db: Database,
) -> None:
    live, token, order_id, payment = await _pending_payment(payments_http, "PAYSTACK")
    assert payment["authorizationUrl"]
    fake_paystack.charge_success(payment["reference"])

    report = await reconcile_payments(db, payment_settings, now=utcnow() + timedelta(minutes=3))

    assert (report.checked, report.confirmed) == (1, 1)
    seen = (await live(STATUS, {"id": order_id}, token=token))["order"]
    assert seen["status"] == "CONFIRMED"


async def test_a_provider_amount_that_differs_is_recorded_and_confirms_nothing(
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    db: Database,
) -> None:
    live, token, order_id, payment = await _pending_payment(payments_http, "STRIPE")
    fake_stripe.succeed(next(iter(fake_stripe.intents)))
    async with db.transaction() as session:  # our record says something else was asked
        await session.execute(
            text("UPDATE payments SET amount_minor = amount_minor + 100 WHERE reference = :r"),
            {"r": payment["reference"]},
        )

    report = await reconcile_payments(db, payment_settings, now=utcnow() + timedelta(minutes=3))

    assert (report.checked, report.confirmed, report.mismatches) == (1, 0, 1)
    assert (await live(STATUS, {"id": order_id}, token=token))["order"]["status"] == "PENDING"
    async with db.read() as session:
        outcome = (
            await session.execute(
                text("SELECT outcome, error_code FROM payment_events WHERE reference = :r"),
                {"r": payment["reference"]},
            )
        ).one()
    assert tuple(outcome) == ("rejected", "PAYMENT_FAILED")


async def test_a_payment_the_provider_reports_failed_is_marked_failed(
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    db: Database,
) -> None:
    live, token, order_id, _payment = await _pending_payment(payments_http, "STRIPE")
    fake_stripe.fail(next(iter(fake_stripe.intents)))

    report = await reconcile_payments(db, payment_settings, now=utcnow() + timedelta(minutes=3))

    assert (report.checked, report.failed) == (1, 1)
    seen = (await live(STATUS, {"id": order_id}, token=token))["order"]
    assert seen == {"status": "PENDING", "payments": [{"status": "FAILED"}]}
