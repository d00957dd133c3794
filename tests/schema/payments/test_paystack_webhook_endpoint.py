"""`POST /webhooks/paystack` over real HTTP with events made and signed by the fake
Paystack (hex HMAC-SHA512 of the raw body with the secret key)."""

from __future__ import annotations

import asyncio

import httpx

from server.config import Settings
from server.db import Database
from server.payments.registry import get_provider
from tests.fakes.paystack_server import FakePaystack
from tests.fakes.recorder import EventRecorder, applied
from tests.schema.payments.helpers import stored_events


async def charged(
    fake: FakePaystack, settings: Settings, reference: str = "pay-ng-1"
) -> dict[str, object]:
    await get_provider("PAYSTACK", settings).create_intent(
        amount_minor=1_500_000,
        currency="NGN",
        reference=reference,
        email="ada@example.com",
        idempotency_key=None,
    )
    return fake.charge_success(reference)


async def test_a_signed_charge_success_is_stored_and_applied_once(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_paystack: FakePaystack,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await charged(fake_paystack, payment_settings)
    url = f"{payments_url}/webhooks/paystack"

    first = await fake_paystack.deliver(url, event)
    again = await fake_paystack.deliver(url, event)

    assert (first.status_code, first.json()["outcome"], first.json()["duplicate"]) == (
        200,
        "applied",
        False,
    )
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    [application] = await applied(db)
    assert (application["reference"], application["amount_minor"], application["currency"]) == (
        "pay-ng-1",
        1_500_000,
        "NGN",
    )
    [row] = await stored_events(db)
    assert (row.provider, row.kind) == ("PAYSTACK", "payment_succeeded")


async def test_bad_signatures_get_400_and_change_nothing(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_paystack: FakePaystack,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await charged(fake_paystack, payment_settings)
    body, headers = fake_paystack.signed(event)

    wrong_key = await fake_paystack.deliver(
        f"{payments_url}/webhooks/paystack", event, secret="sk_x"
    )
    tampered = await payments_http.post(
        "/webhooks/paystack", content=body.replace(b"1500000", b"15"), headers=headers
    )
    unsigned = await payments_http.post("/webhooks/paystack", content=body)

    for response in (wrong_key, tampered, unsigned):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert unsigned.json()["error"]["message"] == "The x-paystack-signature header is missing."
    assert await stored_events(db) == []
    assert await applied(db) == []


async def test_malformed_signed_bodies_get_400(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_paystack: FakePaystack,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    url = f"{payments_url}/webhooks/paystack"

    garbage = await fake_paystack.deliver(url, b"\xff\xfe not text")
    no_reference = await fake_paystack.deliver(
        url, {"event": "charge.success", "data": {"id": 5, "amount": 100, "currency": "NGN"}}
    )

    assert garbage.status_code == 400
    assert garbage.json()["error"]["code"] == "MALFORMED_WEBHOOK"
    assert no_reference.status_code == 400
    assert (
        no_reference.json()["error"]["message"] == "The Paystack event is missing data.reference."
    )
    assert await stored_events(db) == []


async def test_concurrent_deliveries_of_one_event_apply_it_once(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_paystack: FakePaystack,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await charged(fake_paystack, payment_settings)
    event_recorder.delay_seconds = 0.2

    responses = await asyncio.gather(
        *(fake_paystack.deliver(f"{payments_url}/webhooks/paystack", event) for _ in range(10))
    )

    assert [r.status_code for r in responses] == [200] * 10
    assert sum(not r.json()["duplicate"] for r in responses) == 1
    assert len(await applied(db)) == 1


async def test_refund_and_dispute_events_reach_their_handlers(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_paystack: FakePaystack,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    await charged(fake_paystack, payment_settings, reference="pay-ng-2")
    refund = await get_provider("PAYSTACK", payment_settings).refund(
        provider_ref="pay-ng-2", amount_minor=500_000, currency="NGN", idempotency_key=None
    )
    processed = fake_paystack.process_refund(int(refund.provider_ref))
    opened = fake_paystack.open_dispute("pay-ng-2")
    resolved = fake_paystack.resolve_dispute(opened["data"]["id"], "merchant-accepted")
    url = f"{payments_url}/webhooks/paystack"

    for event in (processed, opened, resolved):
        assert (await fake_paystack.deliver(url, event)).status_code == 200

    summary = [(a["kind"], a["reference"], a["amount_minor"]) for a in await applied(db)]
    assert summary == [
        ("refunded", "pay-ng-2", 500_000),
        ("dispute_opened", "pay-ng-2", 1_500_000),
        ("dispute_closed", "pay-ng-2", 1_500_000),
    ]
    assert (await applied(db))[-1]["dispute_outcome"] == "lost"
