"""The offline TEST provider end to end: `POST /payments/test/{reference}/succeed|fail`
and signed `POST /webhooks/test`, through the same store-once, apply-once pipeline."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable

import httpx
import pytest

from server.app import create_app
from server.config import Settings
from server.db import Database
from server.payments import test_provider
from server.payments.base import PaymentIntent
from server.payments.registry import get_provider
from server.payments.test_provider import TestIntent
from tests.fakes.recorder import EventRecorder, applied
from tests.schema.payments.helpers import stored_events


async def created_intent(settings: Settings, reference: str = "pay-t1") -> PaymentIntent:
    return await get_provider("TEST", settings).create_intent(
        amount_minor=3000, currency="USD", reference=reference, email=None, idempotency_key="k"
    )


async def test_succeeding_a_test_payment_applies_one_payment_event(
    payments_http: httpx.AsyncClient,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    intent = await created_intent(payment_settings)

    first = await payments_http.post(
        "/payments/test/pay-t1/succeed", json={"clientSecret": intent.client_secret}
    )
    again = await payments_http.post(
        "/payments/test/pay-t1/succeed", json={"clientSecret": intent.client_secret}
    )

    assert first.status_code == 200
    assert first.json() == {
        "received": True,
        "eventId": f"evt_test_{intent.provider_ref}_succeeded",
        "duplicate": False,
        "outcome": "applied",
    }
    assert (again.status_code, again.json()["duplicate"]) == (200, True)
    [application] = await applied(db)
    assert (application["provider"], application["kind"], application["reference"]) == (
        "TEST",
        "payment_succeeded",
        "pay-t1",
    )
    assert (application["provider_ref"], application["amount_minor"], application["currency"]) == (
        intent.provider_ref,
        3000,
        "USD",
    )
    [row] = await stored_events(db)
    assert (row.provider, row.event_type) == ("TEST", "payment.succeeded")


async def test_failing_a_test_payment_applies_a_failure(
    payments_http: httpx.AsyncClient,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    intent = await created_intent(payment_settings, reference="pay-t2")

    response = await payments_http.post(
        "/payments/test/pay-t2/fail", json={"clientSecret": intent.client_secret}
    )

    assert response.json()["outcome"] == "applied"
    assert [a["kind"] for a in await applied(db)] == ["payment_failed"]


async def test_bad_completion_requests_get_400_and_change_nothing(
    payments_http: httpx.AsyncClient,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    intent = await created_intent(payment_settings)
    assert intent.client_secret is not None
    forged = intent.client_secret[:-2] + "00"

    not_json = await payments_http.post("/payments/test/pay-t1/succeed", content=b"nope")
    no_secret = await payments_http.post("/payments/test/pay-t1/succeed", json={})
    bad_secret = await payments_http.post(
        "/payments/test/pay-t1/succeed", json={"clientSecret": forged}
    )
    other_payment = await payments_http.post(
        "/payments/test/pay-other/succeed", json={"clientSecret": intent.client_secret}
    )

    assert (not_json.status_code, not_json.json()["error"]["code"]) == (400, "MALFORMED_REQUEST")
    assert no_secret.json()["error"] == {
        "code": "VALIDATION",
        "message": "clientSecret is required.",
    }
    assert bad_secret.json()["error"] == {
        "code": "VALIDATION",
        "message": "This is not a valid TEST client secret.",
    }
    assert (
        other_payment.json()["error"]["message"] == "The client secret belongs to another payment."
    )
    assert {r.status_code for r in (no_secret, bad_secret, other_payment)} == {400}
    assert await stored_events(db) == []
    assert await applied(db) == []


async def test_signed_test_webhooks_drive_refunds_and_disputes(
    payments_http: httpx.AsyncClient,
    payment_settings: Settings,
    event_recorder: EventRecorder,
    db: Database,
) -> None:
    intent = TestIntent("test_pi_abc", "pay-t3", 3000, "USD")
    key = test_provider.signing_key(payment_settings)
    events = [
        test_provider.build_event("refund.succeeded", intent, amount_minor=1000),
        test_provider.build_event("dispute.opened", intent),
        test_provider.build_event("dispute.closed", intent, outcome="won"),
    ]

    for event in events:
        body = json.dumps(event).encode()
        response = await payments_http.post(
            "/webhooks/test",
            content=body,
            headers={"X-Test-Signature": test_provider.sign_payload(body, key)},
        )
        assert (response.status_code, response.json()["outcome"]) == (200, "applied")

    summary = [(a["kind"], a["amount_minor"]) for a in await applied(db)]
    assert summary == [("refunded", 1000), ("dispute_opened", 3000), ("dispute_closed", 3000)]


async def test_test_webhooks_signed_with_another_key_are_refused(
    payments_http: httpx.AsyncClient, event_recorder: EventRecorder, db: Database
) -> None:
    event = test_provider.completion_event(TestIntent("test_pi_x", "r", 100, "USD"), succeeded=True)
    body = json.dumps(event).encode()

    response = await payments_http.post(
        "/webhooks/test",
        content=body,
        headers={"X-Test-Signature": test_provider.sign_payload(body, b"guessed key")},
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "INVALID_SIGNATURE",
        "message": "Invalid TEST signature.",
    }
    assert await stored_events(db) == []


@pytest.mark.parametrize(
    ("timestamp", "message"),
    [
        ("9" * 5000, "The X-Test-Signature header is not t=...,v1=...."),
        ("²", "The X-Test-Signature header is not t=...,v1=...."),
        (str(int(time.time()) - 600), "The TEST signature is too old."),
        (str(int(time.time()) + 86_400 * 365 * 3), "The TEST signature is dated in the future."),
    ],
    ids=["5000-digits", "superscript-digit", "old", "years-ahead"],
)
async def test_a_timestamp_out_of_tolerance_or_unreadable_is_refused(
    payments_http: httpx.AsyncClient,
    payment_settings: Settings,
    db: Database,
    timestamp: str,
    message: str,
) -> None:
    event = test_provider.completion_event(TestIntent("test_pi_x", "r", 100, "USD"), succeeded=True)
    body = json.dumps(event).encode()
    key = test_provider.signing_key(payment_settings)
    mac = hmac.new(key, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()

    response = await payments_http.post(
        "/webhooks/test",
        content=body,
        headers={"X-Test-Signature": f"t={timestamp},v1={mac}".encode("latin-1")},
    )

    assert response.status_code == 400
    assert response.json()["error"] == {"code": "INVALID_SIGNATURE", "message": message}
    assert await stored_events(db) == []


async def test_a_signed_webhook_nested_too_deep_gets_400_and_stores_nothing(
    payments_http: httpx.AsyncClient, payment_settings: Settings, db: Database
) -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    key = test_provider.signing_key(payment_settings)

    response = await payments_http.post(
        "/webhooks/test",
        content=body,
        headers={"X-Test-Signature": test_provider.sign_payload(body, key)},
    )

    assert response.status_code == 400
    assert response.json()["error"] == {
        "code": "MALFORMED_WEBHOOK",
        "message": "The webhook body is not a JSON object.",
    }
    assert await stored_events(db) == []


async def test_with_test_payments_off_the_test_routes_do_not_exist(
    make_settings: Callable[..., Settings], db: Database
) -> None:
    app = create_app(make_settings(test_payments=False), run_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            webhook = await client.post("/webhooks/test", content=b"{}")
            succeed = await client.post("/payments/test/r/succeed", json={"clientSecret": "x"})

    for response in (webhook, succeed):
        assert response.status_code == 404
        assert response.json()["error"] == {
            "code": "NOT_FOUND",
            "message": "TEST payments are turned off on this server.",
        }
    assert await stored_events(db) == []
