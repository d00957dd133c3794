"""Stripe webhook verification and normalization, with events and signatures made the
way Stripe makes them (the fake's state changes, the SDK's signing helper)."""

from __future__ import annotations

import json
import time

import pytest

from server.payments.base import DisputeOutcome, EventKind, ProviderName
from server.payments.errors import InvalidSignature, MalformedWebhook, ProviderNotConfigured
from server.payments.stripe_provider import StripeProvider
from tests.fakes.stripe_server import FakeStripe


def provider(fake: FakeStripe, webhook_secret: str | None = None) -> StripeProvider:
    return StripeProvider(
        secret_key=fake.secret_key,
        webhook_secret=webhook_secret or fake.webhook_secret,
        api_base=fake.url,
    )


async def paid(fake: FakeStripe, amount: int = 4200) -> tuple[str, dict[str, object]]:
    intent = await provider(fake).create_intent(
        amount_minor=amount, currency="EUR", reference="pay-7", email=None, idempotency_key="k"
    )
    return intent.provider_ref, fake.succeed(intent.provider_ref)


async def test_a_signed_payment_success_is_normalized(fake_stripe: FakeStripe) -> None:
    intent_id, event = await paid(fake_stripe)
    body, headers = fake_stripe.signed(event)

    parsed = provider(fake_stripe).parse_webhook(body, headers)

    assert parsed.provider is ProviderName.STRIPE
    assert parsed.event_id == event["id"]
    assert parsed.event_type == "payment_intent.succeeded"
    assert parsed.kind is EventKind.PAYMENT_SUCCEEDED
    assert (parsed.reference, parsed.provider_ref) == ("pay-7", intent_id)
    assert (parsed.amount_minor, parsed.currency) == (4200, "EUR")
    assert parsed.raw == event


async def test_headers_are_matched_without_regard_to_case(fake_stripe: FakeStripe) -> None:
    _, event = await paid(fake_stripe)
    body, headers = fake_stripe.signed(event)

    parsed = provider(fake_stripe).parse_webhook(
        body, {"stripe-signature": headers["Stripe-Signature"]}
    )

    assert parsed.kind is EventKind.PAYMENT_SUCCEEDED


async def test_a_tampered_body_is_refused(fake_stripe: FakeStripe) -> None:
    _, event = await paid(fake_stripe)
    body, headers = fake_stripe.signed(event)
    tampered = body.replace(b'"amount_received": 4200', b'"amount_received": 1')
    assert tampered != body

    with pytest.raises(InvalidSignature) as caught:
        provider(fake_stripe).parse_webhook(tampered, headers)

    assert caught.value.code == "INVALID_SIGNATURE"


async def test_a_signature_made_with_another_secret_is_refused(fake_stripe: FakeStripe) -> None:
    _, event = await paid(fake_stripe)
    body, headers = fake_stripe.signed(event, secret="whsec_somebody_else")

    with pytest.raises(InvalidSignature):
        provider(fake_stripe).parse_webhook(body, headers)


async def test_a_signature_older_than_the_tolerance_is_refused(fake_stripe: FakeStripe) -> None:
    _, event = await paid(fake_stripe)
    stale = fake_stripe.signed(event, timestamp=int(time.time()) - 301)
    fresh_enough = fake_stripe.signed(event, timestamp=int(time.time()) - 200)

    with pytest.raises(InvalidSignature) as caught:
        provider(fake_stripe).parse_webhook(*stale)
    parsed = provider(fake_stripe).parse_webhook(*fresh_enough)

    assert "tolerance" in caught.value.message
    assert parsed.event_id == event["id"]


@pytest.mark.parametrize("signature", [None, "", "garbage", "t=abc,v1=00", "t=1700000000"])
async def test_a_missing_or_unreadable_signature_header_is_refused(
    fake_stripe: FakeStripe, signature: str | None
) -> None:
    _, event = await paid(fake_stripe)
    body, _ = fake_stripe.signed(event)
    headers = {} if signature is None else {"Stripe-Signature": signature}

    with pytest.raises(InvalidSignature):
        provider(fake_stripe).parse_webhook(body, headers)


async def test_without_a_webhook_secret_stripe_webhooks_are_not_configured(
    fake_stripe: FakeStripe,
) -> None:
    _, event = await paid(fake_stripe)
    unconfigured = StripeProvider(secret_key=fake_stripe.secret_key, webhook_secret=None)

    with pytest.raises(ProviderNotConfigured):
        unconfigured.parse_webhook(*fake_stripe.signed(event))


async def test_a_signed_body_that_is_not_json_is_malformed(fake_stripe: FakeStripe) -> None:
    body, headers = fake_stripe.signed(b"this is not json")

    with pytest.raises(MalformedWebhook) as caught:
        provider(fake_stripe).parse_webhook(body, headers)

    assert caught.value.message == "The webhook body is not a JSON object."


async def test_a_signed_body_nested_past_the_parsers_limit_is_malformed(
    fake_stripe: FakeStripe,
) -> None:
    body, headers = fake_stripe.signed(b"[" * 100_000 + b"]" * 100_000)

    with pytest.raises(MalformedWebhook) as caught:
        provider(fake_stripe).parse_webhook(body, headers)

    assert caught.value.message == "The webhook body is not a JSON object."


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.pop("id"), "The Stripe event is missing id."),
        (lambda e: e.pop("type"), "The Stripe event is missing type."),
        (lambda e: e.pop("data"), "The Stripe event has no data.object."),
        (
            lambda e: e["data"]["object"].pop("amount_received"),
            "The Stripe event is missing data.object.amount_received (an amount in minor units).",
        ),
        (
            lambda e: e["data"]["object"].update(currency=None),
            "The Stripe event is missing data.object.currency.",
        ),
        (lambda e: e["data"]["object"].pop("id"), "The Stripe event is missing data.object.id."),
    ],
)
async def test_signed_events_missing_fields_are_malformed(
    fake_stripe: FakeStripe, mutate: object, message: str
) -> None:
    _, event = await paid(fake_stripe)
    broken = json.loads(json.dumps(event))
    mutate(broken)  # type: ignore[operator]

    with pytest.raises(MalformedWebhook) as caught:
        provider(fake_stripe).parse_webhook(*fake_stripe.signed(broken))

    assert caught.value.message == message


async def test_a_failed_payment_carries_the_decline_message(fake_stripe: FakeStripe) -> None:
    intent = await provider(fake_stripe).create_intent(
        amount_minor=900, currency="USD", reference="pay-f", email=None, idempotency_key=None
    )
    event = fake_stripe.fail(intent.provider_ref, message="Insufficient funds.")

    parsed = provider(fake_stripe).parse_webhook(*fake_stripe.signed(event))

    assert parsed.kind is EventKind.PAYMENT_FAILED
    assert (parsed.reference, parsed.amount_minor) == ("pay-f", 900)
    assert parsed.failure_message == "Insufficient funds."


async def test_refunds_report_this_refund_and_the_running_total(fake_stripe: FakeStripe) -> None:
    intent_id, _ = await paid(fake_stripe, amount=5000)
    first = fake_stripe.refund(intent_id, amount=1000)
    second = fake_stripe.refund(intent_id, amount=1500)

    one = provider(fake_stripe).parse_webhook(*fake_stripe.signed(first))
    two = provider(fake_stripe).parse_webhook(*fake_stripe.signed(second))

    assert one.kind is EventKind.REFUNDED
    assert (one.provider_ref, one.reference) == (intent_id, "pay-7")
    assert (one.amount_minor, one.refunded_total_minor) == (1000, 1000)
    assert (two.amount_minor, two.refunded_total_minor, two.currency) == (1500, 2500, "EUR")
    assert one.event_id != two.event_id


async def test_disputes_open_and_close_with_an_outcome(fake_stripe: FakeStripe) -> None:
    intent_id, _ = await paid(fake_stripe, amount=3000)
    opened = fake_stripe.open_dispute(intent_id)
    dispute_id = opened["data"]["object"]["id"]
    lost = fake_stripe.close_dispute(dispute_id, "lost")

    parsed_open = provider(fake_stripe).parse_webhook(*fake_stripe.signed(opened))
    parsed_lost = provider(fake_stripe).parse_webhook(*fake_stripe.signed(lost))

    assert parsed_open.kind is EventKind.DISPUTE_OPENED
    assert (parsed_open.provider_ref, parsed_open.amount_minor) == (intent_id, 3000)
    assert parsed_open.dispute_outcome is None
    assert parsed_lost.kind is EventKind.DISPUTE_CLOSED
    assert parsed_lost.dispute_outcome is DisputeOutcome.LOST


@pytest.mark.parametrize(("status", "outcome"), [("won", "won"), ("warning_closed", "won")])
async def test_a_dispute_closed_without_losing_money_is_won(
    fake_stripe: FakeStripe, status: str, outcome: str
) -> None:
    intent_id, _ = await paid(fake_stripe)
    opened = fake_stripe.open_dispute(intent_id)
    closed = fake_stripe.close_dispute(opened["data"]["object"]["id"], status)

    parsed = provider(fake_stripe).parse_webhook(*fake_stripe.signed(closed))

    assert parsed.dispute_outcome == DisputeOutcome(outcome)


async def test_other_event_types_are_kept_as_other(fake_stripe: FakeStripe) -> None:
    event = fake_stripe.event("customer.created", {"id": "cus_1", "object": "customer"})

    parsed = provider(fake_stripe).parse_webhook(*fake_stripe.signed(event))

    assert parsed.kind is EventKind.OTHER
    assert (parsed.event_type, parsed.reference, parsed.amount_minor) == (
        "customer.created",
        None,
        None,
    )
