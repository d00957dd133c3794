"""Paystack webhook verification (hex HMAC-SHA512 of the raw body, keyed with the secret
key) and normalization, with events made by the fake Paystack."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from server.payments.base import DisputeOutcome, EventKind, ProviderName
from server.payments.errors import InvalidSignature, MalformedWebhook
from server.payments.paystack import PaystackProvider, sign
from tests.fakes.paystack_server import FakePaystack


def paystack(fake: FakePaystack) -> PaystackProvider:
    return PaystackProvider(secret_key=fake.secret_key, api_base=fake.url)


async def charged(fake: FakePaystack, reference: str = "pay-9") -> dict[str, object]:
    await paystack(fake).create_intent(
        amount_minor=750_000,
        currency="NGN",
        reference=reference,
        email="buyer@example.com",
        idempotency_key=None,
    )
    return fake.charge_success(reference)


async def test_the_signature_is_hex_hmac_sha512_of_the_raw_body() -> None:
    body = b'{"event":"charge.success"}'

    expected = hmac.new(b"sk_test_x", body, hashlib.sha512).hexdigest()

    assert sign(body, "sk_test_x") == expected
    assert len(expected) == 128


async def test_a_signed_charge_success_is_normalized(fake_paystack: FakePaystack) -> None:
    event = await charged(fake_paystack)
    data = event["data"]
    assert isinstance(data, dict)

    parsed = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(event))

    assert parsed.provider is ProviderName.PAYSTACK
    assert parsed.kind is EventKind.PAYMENT_SUCCEEDED
    assert parsed.event_id == f"charge.success:{data['id']}:success"
    assert (parsed.reference, parsed.provider_ref) == ("pay-9", "pay-9")
    assert (parsed.amount_minor, parsed.currency) == (750_000, "NGN")


async def test_the_derived_event_id_is_stable_across_redeliveries(
    fake_paystack: FakePaystack,
) -> None:
    event = await charged(fake_paystack)
    compact = json.dumps(event, separators=(",", ":")).encode()

    first = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(event))
    again = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(compact))

    assert first.event_id == again.event_id


async def test_a_tampered_body_is_refused(fake_paystack: FakePaystack) -> None:
    event = await charged(fake_paystack)
    body, headers = fake_paystack.signed(event)

    with pytest.raises(InvalidSignature):
        paystack(fake_paystack).parse_webhook(body.replace(b"750000", b"750"), headers)


async def test_a_signature_with_another_key_is_refused(fake_paystack: FakePaystack) -> None:
    event = await charged(fake_paystack)

    with pytest.raises(InvalidSignature) as caught:
        paystack(fake_paystack).parse_webhook(*fake_paystack.signed(event, secret="sk_other"))

    assert caught.value.message == "Invalid Paystack signature."


@pytest.mark.parametrize(
    "headers", [{}, {"x-paystack-signature": ""}, {"x-paystack-signature": "abc"}]
)
async def test_a_missing_or_short_signature_is_refused(
    fake_paystack: FakePaystack, headers: dict[str, str]
) -> None:
    event = await charged(fake_paystack)
    body, _ = fake_paystack.signed(event)

    with pytest.raises(InvalidSignature):
        paystack(fake_paystack).parse_webhook(body, headers)


async def test_the_signature_header_name_and_hex_case_do_not_matter(
    fake_paystack: FakePaystack,
) -> None:
    event = await charged(fake_paystack)
    body, headers = fake_paystack.signed(event)

    parsed = paystack(fake_paystack).parse_webhook(
        body, {"X-Paystack-Signature": headers["x-paystack-signature"].upper()}
    )

    assert parsed.kind is EventKind.PAYMENT_SUCCEEDED


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", "The webhook body is not a JSON object."),
        (b"[1, 2]", "The webhook body is not a JSON object."),
        (b"[" * 100_000 + b"]" * 100_000, "The webhook body is not a JSON object."),
        (b'{"data": {}}', "The Paystack event is missing event."),
        (b'{"event": "charge.success"}', "The Paystack event is missing data."),
        (
            b'{"event": "charge.success", "data": {"id": 1, "amount": 5, "currency": "NGN"}}',
            "The Paystack event is missing data.reference.",
        ),
        (
            b'{"event": "charge.success", "data": {"id": 1, "reference": "r", "currency": "NGN"}}',
            "The Paystack event is missing data.amount (an amount in subunits).",
        ),
        (
            b'{"event": "charge.success", "data": {"amount": 5}}',
            "The Paystack event is missing data.id.",
        ),
    ],
)
async def test_signed_malformed_bodies_are_refused_with_the_reason(
    fake_paystack: FakePaystack, body: bytes, message: str
) -> None:
    with pytest.raises(MalformedWebhook) as caught:
        paystack(fake_paystack).parse_webhook(*fake_paystack.signed(body))

    assert caught.value.message == message


async def test_a_failed_charge_carries_the_gateway_response(fake_paystack: FakePaystack) -> None:
    await paystack(fake_paystack).create_intent(
        amount_minor=10_000, currency="GHS", reference="gh-1", email="a@b.co", idempotency_key=None
    )
    event = fake_paystack.charge_failed("gh-1", reason="Insufficient Funds")

    parsed = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(event))

    assert parsed.kind is EventKind.PAYMENT_FAILED
    assert (parsed.reference, parsed.currency) == ("gh-1", "GHS")
    assert parsed.failure_message == "Insufficient Funds"


async def test_a_processed_refund_names_the_transaction_and_the_amount(
    fake_paystack: FakePaystack,
) -> None:
    await charged(fake_paystack, "pay-r")
    refund = await paystack(fake_paystack).refund(
        provider_ref="pay-r", amount_minor=250_000, currency="NGN", idempotency_key=None
    )
    event = fake_paystack.process_refund(int(refund.provider_ref))

    parsed = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(event))

    assert parsed.kind is EventKind.REFUNDED
    assert parsed.event_id == f"refund.processed:{refund.provider_ref}:processed"
    assert (parsed.reference, parsed.amount_minor, parsed.currency) == ("pay-r", 250_000, "NGN")
    assert parsed.refund_ref == refund.provider_ref
    assert parsed.refunded_total_minor is None


@pytest.mark.parametrize(
    ("resolution", "outcome"), [("declined", "won"), ("merchant-accepted", "lost")]
)
async def test_disputes_open_and_resolve(
    fake_paystack: FakePaystack, resolution: str, outcome: str
) -> None:
    await charged(fake_paystack, "pay-d")
    opened = fake_paystack.open_dispute("pay-d")
    dispute_id = opened["data"]["id"]
    resolved = fake_paystack.resolve_dispute(dispute_id, resolution)

    parsed_open = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(opened))
    parsed_resolved = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(resolved))

    assert parsed_open.kind is EventKind.DISPUTE_OPENED
    assert (parsed_open.reference, parsed_open.amount_minor) == ("pay-d", 750_000)
    assert parsed_resolved.kind is EventKind.DISPUTE_CLOSED
    assert parsed_resolved.dispute_outcome is DisputeOutcome(outcome)
    assert parsed_open.event_id != parsed_resolved.event_id


async def test_other_paystack_events_are_kept_as_other(fake_paystack: FakePaystack) -> None:
    event = {"event": "transfer.success", "data": {"id": 77, "status": "success"}}

    parsed = paystack(fake_paystack).parse_webhook(*fake_paystack.signed(event))

    assert parsed.kind is EventKind.OTHER
    assert parsed.event_id == "transfer.success:77:success"
