"""The offline TEST provider and the provider registry."""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest

from server.config import Settings
from server.errors import ErrorCode, ValidationError
from server.payments import test_provider
from server.payments.base import DisputeOutcome, EventKind, PaymentStatus, ProviderName
from server.payments.errors import InvalidSignature, MalformedWebhook, ProviderNotConfigured
from server.payments.paystack import PaystackProvider
from server.payments.registry import get_provider
from server.payments.stripe_provider import StripeProvider
from server.payments.test_provider import TestIntent, TestProvider

KEY = b"k" * 32


def settings_with(**overrides: object) -> Settings:
    """Settings without the database: the registry only reads provider configuration."""
    values: dict[str, object] = {
        "jwt_secret": "j" * 40,
        "stripe_secret_key": "sk_test_1",
        "stripe_webhook_secret": "whsec_1",
        "paystack_secret_key": "sk_test_2",
        "test_payments": True,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[arg-type]


def signed(
    event: dict[str, object] | bytes, *, key: bytes = KEY, age: int = 0
) -> tuple[bytes, dict[str, str]]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    header = test_provider.sign_payload(body, key, timestamp=int(time.time()) - age)
    return body, {"X-Test-Signature": header}


async def test_the_same_idempotency_key_gives_the_same_intent() -> None:
    provider = TestProvider(key=KEY)
    args = {"amount_minor": 1500, "currency": "usd", "reference": "r1", "email": None}

    first = await provider.create_intent(idempotency_key="k1", **args)  # type: ignore[arg-type]
    again = await provider.create_intent(idempotency_key="k1", **args)  # type: ignore[arg-type]
    other = await provider.create_intent(idempotency_key="k2", **args)  # type: ignore[arg-type]

    assert again == first
    assert other.provider_ref != first.provider_ref
    assert first.provider is ProviderName.TEST
    assert (first.status, first.amount_minor, first.currency) == (
        PaymentStatus.PENDING,
        1500,
        "USD",
    )
    assert first.provider_ref.startswith("test_pi_")


async def test_the_client_secret_carries_the_signed_intent() -> None:
    provider = TestProvider(key=KEY)
    intent = await provider.create_intent(
        amount_minor=1500, currency="EUR", reference="r1", email=None, idempotency_key=None
    )
    assert intent.client_secret is not None

    decoded = provider.decode_client_secret(intent.client_secret)

    assert decoded == TestIntent(intent.provider_ref, "r1", 1500, "EUR")


@pytest.mark.parametrize(
    "tamper",
    [
        lambda s: s[:-1] + ("0" if s[-1] != "0" else "1"),
        lambda s: s.replace("test_pi_", "test_pi_x"),
        lambda s: "garbage",
        lambda s: s.split(".")[0],
    ],
)
async def test_a_forged_or_damaged_client_secret_is_refused(
    tamper: Callable[[str], str],
) -> None:
    provider = TestProvider(key=KEY)
    intent = await provider.create_intent(
        amount_minor=1500, currency="EUR", reference="r1", email=None, idempotency_key=None
    )
    assert intent.client_secret is not None

    with pytest.raises(ValidationError) as caught:
        provider.decode_client_secret(tamper(intent.client_secret))
    with pytest.raises(ValidationError):
        TestProvider(key=b"another key").decode_client_secret(intent.client_secret)

    assert caught.value.field == ["clientSecret"]


async def test_completion_events_parse_as_payment_events() -> None:
    intent = TestIntent("test_pi_1", "r1", 1500, "EUR")
    provider = TestProvider(key=KEY)

    succeeded = provider.parse_webhook(
        *signed(test_provider.completion_event(intent, succeeded=True))
    )
    failed = provider.parse_webhook(
        *signed(test_provider.completion_event(intent, succeeded=False))
    )

    assert succeeded.kind is EventKind.PAYMENT_SUCCEEDED
    assert succeeded.event_id == "evt_test_test_pi_1_succeeded"
    assert (succeeded.reference, succeeded.provider_ref) == ("r1", "test_pi_1")
    assert (succeeded.amount_minor, succeeded.currency) == (1500, "EUR")
    assert failed.kind is EventKind.PAYMENT_FAILED
    assert failed.event_id == "evt_test_test_pi_1_failed"


async def test_refund_and_dispute_events_parse() -> None:
    intent = TestIntent("test_pi_1", "r1", 1500, "EUR")
    provider = TestProvider(key=KEY)
    refund = test_provider.build_event(
        "refund.succeeded", intent, amount_minor=500, refund_id="re_1"
    )
    closed = test_provider.build_event("dispute.closed", intent, outcome="lost")

    parsed_refund = provider.parse_webhook(*signed(refund))
    parsed_closed = provider.parse_webhook(*signed(closed))

    assert (parsed_refund.kind, parsed_refund.amount_minor) == (EventKind.REFUNDED, 500)
    assert parsed_refund.refund_ref == "re_1"
    assert parsed_closed.dispute_outcome is DisputeOutcome.LOST


@pytest.mark.parametrize(
    ("headers_for", "message"),
    [
        (lambda body: {}, "The X-Test-Signature header is missing."),
        (
            lambda body: {"X-Test-Signature": "v1=abc"},
            "The X-Test-Signature header is not t=...,v1=....",
        ),
        (lambda body: signed(body, key=b"other")[1], "Invalid TEST signature."),
        (lambda body: signed(body, age=301)[1], "The TEST signature is too old."),
    ],
)
async def test_bad_test_signatures_are_refused(
    headers_for: Callable[[bytes], dict[str, str]], message: str
) -> None:
    body = json.dumps(
        test_provider.completion_event(TestIntent("p", "r", 1, "USD"), succeeded=True)
    )

    with pytest.raises(InvalidSignature) as caught:
        TestProvider(key=KEY).parse_webhook(body.encode(), headers_for(body.encode()))

    assert caught.value.message == message


async def test_a_tampered_test_body_is_refused() -> None:
    body, headers = signed(
        test_provider.completion_event(TestIntent("p", "r", 100, "USD"), succeeded=True)
    )

    with pytest.raises(InvalidSignature):
        TestProvider(key=KEY).parse_webhook(body.replace(b"100", b"1"), headers)


@pytest.mark.parametrize(
    ("event", "message"),
    [
        (b"{", "The webhook body is not a JSON object."),
        (b"[" * 100_000 + b"]" * 100_000, "The webhook body is not a JSON object."),
        (b'{"id": "e", "amount": NaN}', "The webhook body is not a JSON object."),
        (b'{"id": "e", "amount": 1e999}', "The webhook body is not a JSON object."),
        ({"type": "payment.succeeded", "data": {}}, "The TEST event is missing id."),
        (
            {"id": "e", "type": "payment.succeeded", "data": {}},
            "The TEST event is missing data.reference.",
        ),
        (
            {
                "id": "e",
                "type": "payment.succeeded",
                "data": {"reference": "r", "provider_ref": "p", "currency": "USD", "amount": -1},
            },
            "The TEST event is missing data.amount (an amount in minor units).",
        ),
        (
            {
                "id": "e",
                "type": "dispute.closed",
                "data": {"reference": "r", "provider_ref": "p", "currency": "USD", "amount": 1},
            },
            "The TEST event is missing data.outcome (won or lost).",
        ),
    ],
)
async def test_malformed_test_events_are_refused(
    event: dict[str, object] | bytes, message: str
) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        TestProvider(key=KEY).parse_webhook(*signed(event))

    assert caught.value.message == message


async def test_test_refunds_succeed_at_once_and_fees_are_zero() -> None:
    provider = TestProvider(key=KEY)

    refund = await provider.refund(
        provider_ref="test_pi_1", amount_minor=700, currency="USD", idempotency_key="r"
    )
    again = await provider.refund(
        provider_ref="test_pi_1", amount_minor=700, currency="USD", idempotency_key="r"
    )

    assert refund == again
    assert (refund.amount_minor, refund.payment_ref) == (700, "test_pi_1")
    assert provider.processing_fee(10_000, "USD") == 0


async def test_the_registry_builds_each_configured_provider() -> None:
    settings = settings_with()

    assert isinstance(get_provider("STRIPE", settings), StripeProvider)
    assert isinstance(get_provider(ProviderName.PAYSTACK, settings), PaystackProvider)
    assert isinstance(get_provider("test", settings), TestProvider)


@pytest.mark.parametrize(
    ("name", "overrides", "message"),
    [
        (
            "STRIPE",
            {"stripe_secret_key": None},
            "Stripe payments are not configured on this server.",
        ),
        (
            "STRIPE",
            {"stripe_secret_key": "  "},
            "Stripe payments are not configured on this server.",
        ),
        (
            "PAYSTACK",
            {"paystack_secret_key": None},
            "Paystack payments are not configured on this server.",
        ),
        ("TEST", {"test_payments": False}, "TEST payments are turned off on this server."),
        ("PAYPAL", {}, "Unknown payment provider 'PAYPAL'."),
    ],
)
async def test_an_unconfigured_provider_is_a_validation_error(
    name: str, overrides: dict[str, object], message: str
) -> None:
    settings = settings_with(**overrides)

    with pytest.raises(ProviderNotConfigured) as caught:
        get_provider(name, settings)

    assert (caught.value.code, caught.value.field, caught.value.message) == (
        ErrorCode.VALIDATION,
        ["provider"],
        message,
    )


async def test_the_test_signing_key_comes_from_the_jwt_key() -> None:
    one = settings_with(jwt_secret="a" * 40)
    same = settings_with(jwt_secret="a" * 40)
    two = settings_with(jwt_secret="b" * 40)

    assert test_provider.signing_key(one) == test_provider.signing_key(same)
    assert test_provider.signing_key(one) != test_provider.signing_key(two)
