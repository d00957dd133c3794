"""`POST /webhooks/stripe` over real HTTP: events made and signed by the fake Stripe the
way Stripe makes them, applied by a recording handler, counted in PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import time

import httpx

from server.config import Settings
from server.db import Database
from server.errors import InvalidState
from server.payments.registry import get_provider
from tests.fakes.recorder import EventRecorder, applied
from tests.fakes.stripe_server import FakeStripe
from tests.schema.payments.helpers import stored_events


async def paid_event(fake: FakeStripe, settings: Settings, amount: int = 4500) -> dict[str, object]:
    intent = await get_provider("STRIPE", settings).create_intent(
        amount_minor=amount, currency="USD", reference="pay-42", email=None, idempotency_key="k"
    )
    return fake.succeed(intent.provider_ref)


async def test_a_signed_payment_success_is_stored_and_applied(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)

    response = await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event)

    assert response.status_code == 200
    assert response.json() == {
        "received": True,
        "eventId": event["id"],
        "duplicate": False,
        "outcome": "applied",
    }
    [application] = await applied(db)
    assert (application["kind"], application["reference"]) == ("payment_succeeded", "pay-42")
    assert (application["amount_minor"], application["currency"]) == (4500, "USD")
    [row] = await stored_events(db)
    assert (row.provider, row.event_id, row.outcome) == ("STRIPE", event["id"], "applied")


async def test_a_bad_signature_gets_400_and_changes_nothing(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)
    body, headers = fake_stripe.signed(event)
    url = f"{payments_url}/webhooks/stripe"

    wrong_secret = await fake_stripe.deliver(url, event, secret="whsec_not_ours")
    tampered = await payments_http.post(
        "/webhooks/stripe", content=body.replace(b"4500", b"4501"), headers=headers
    )
    stale = await fake_stripe.deliver(url, event, timestamp=int(time.time()) - 600)
    future = await fake_stripe.deliver(url, event, timestamp=int(time.time()) + 86_400 * 365)
    unsigned = await payments_http.post("/webhooks/stripe", content=body)

    for response in (wrong_secret, tampered, stale, future, unsigned):
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "INVALID_SIGNATURE"
    assert unsigned.json()["error"]["message"] == "The Stripe-Signature header is missing."
    assert "tolerance" in stale.json()["error"]["message"]
    assert "future" in future.json()["error"]["message"]
    assert await stored_events(db) == []
    assert await applied(db) == []


async def test_malformed_bodies_get_400_with_the_reason_and_change_nothing(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)
    missing_amount = json.loads(json.dumps(event))
    del missing_amount["data"]["object"]["amount_received"]
    url = f"{payments_url}/webhooks/stripe"

    not_json = await fake_stripe.deliver(url, b"<xml>hello</xml>")
    not_an_object = await fake_stripe.deliver(url, b'["payment_intent.succeeded"]')
    incomplete = await fake_stripe.deliver(url, missing_amount)

    assert not_json.status_code == 400
    assert not_json.json()["error"] == {
        "code": "MALFORMED_WEBHOOK",
        "message": "The webhook body is not a JSON object.",
    }
    assert not_an_object.status_code == 400
    assert incomplete.status_code == 400
    assert incomplete.json()["error"]["message"] == (
        "The Stripe event is missing data.object.amount_received (an amount in minor units)."
    )
    assert await stored_events(db) == []
    assert await applied(db) == []


async def test_a_replay_is_acknowledged_and_applied_once(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)
    url = f"{payments_url}/webhooks/stripe"

    first = await fake_stripe.deliver(url, event)
    replay = await fake_stripe.deliver(url, event)

    assert (first.status_code, first.json()["duplicate"]) == (200, False)
    assert replay.status_code == 200
    assert replay.json() == {
        "received": True,
        "eventId": event["id"],
        "duplicate": True,
        "outcome": None,
    }
    assert len(await stored_events(db)) == 1
    assert len(await applied(db)) == 1


async def test_the_same_event_ten_times_at_once_is_applied_once(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)
    body, headers = fake_stripe.signed(event)
    event_recorder.delay_seconds = 0.2  # the winner holds its transaction while the rest arrive

    async with httpx.AsyncClient(
        base_url=payments_url, timeout=30, limits=httpx.Limits(max_connections=10)
    ) as client:
        responses = await asyncio.gather(
            *(client.post("/webhooks/stripe", content=body, headers=headers) for _ in range(10))
        )

    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
    assert len(await stored_events(db)) == 1
    assert len(await applied(db)) == 1


async def test_a_handler_domain_error_is_recorded_and_acknowledged(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)
    event_recorder.reject_with = InvalidState("The order has expired.")

    response = await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event)
    replay = await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event)

    assert response.status_code == 200
    assert response.json()["outcome"] == "rejected"
    assert response.json()["error"] == {
        "code": "INVALID_STATE",
        "message": "The order has expired.",
    }
    assert replay.json()["duplicate"] is True
    [row] = await stored_events(db)
    assert (row.outcome, row.error_code) == ("rejected", "INVALID_STATE")
    assert await applied(db) == []


async def test_an_unexpected_failure_is_500_and_the_retry_applies_it(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    event = await paid_event(fake_stripe, payment_settings)
    event_recorder.crash_with = RuntimeError("lost the database connection")

    failed = await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event)
    assert await stored_events(db) == []
    event_recorder.crash_with = None
    retried = await fake_stripe.deliver(f"{payments_url}/webhooks/stripe", event)

    assert failed.status_code == 500
    assert failed.json()["error"]["code"] == "INTERNAL"
    assert failed.json()["error"]["requestId"] == failed.headers["x-request-id"]
    assert "database" not in failed.text
    assert (retried.status_code, retried.json()["outcome"]) == (200, "applied")
    assert len(await applied(db)) == 1


async def test_refunds_and_disputes_reach_their_handlers(
    payments_url: str,
    payments_http: httpx.AsyncClient,
    fake_stripe: FakeStripe,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    paid = await paid_event(fake_stripe, payment_settings, amount=8000)
    intent_id = paid["data"]["object"]["id"]  # type: ignore[index]
    refund = await get_provider("STRIPE", payment_settings).refund(
        provider_ref=intent_id, amount_minor=3000, currency="USD", idempotency_key="r1"
    )
    assert refund.amount_minor == 3000
    refunded = fake_stripe.events_of("charge.refunded")[-1]
    opened = fake_stripe.open_dispute(intent_id)
    closed = fake_stripe.close_dispute(opened["data"]["object"]["id"], "won")
    url = f"{payments_url}/webhooks/stripe"

    for event in (paid, refunded, opened, closed):
        assert (await fake_stripe.deliver(url, event)).status_code == 200

    kinds = [(a["kind"], a["amount_minor"], a["provider_ref"]) for a in await applied(db)]
    assert kinds == [
        ("payment_succeeded", 8000, intent_id),
        ("refunded", 3000, intent_id),
        ("dispute_opened", 5000, intent_id),
        ("dispute_closed", 5000, intent_id),
    ]
    assert (await applied(db))[-1]["dispute_outcome"] == "won"


async def test_a_body_over_the_size_limit_is_refused(
    payments_http: httpx.AsyncClient, db: Database
) -> None:
    response = await payments_http.post(
        "/webhooks/stripe",
        content=b"{" + b" " * 1_000_001 + b"}",
        headers={"Stripe-Signature": "t=1,v1=00"},
    )

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "TOO_LARGE"
    assert await stored_events(db) == []


async def test_without_stripe_configured_the_endpoint_says_so(
    client: httpx.AsyncClient, db: Database
) -> None:
    response = await client.post(
        "/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=00"}
    )

    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "NOT_CONFIGURED",
        "message": "Stripe payments are not configured on this server.",
    }
    assert await stored_events(db) == []
