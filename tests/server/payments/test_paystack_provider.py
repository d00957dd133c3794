"""The Paystack provider through httpx against the fake Paystack server."""

from __future__ import annotations

import pytest

from server.errors import ErrorCode, ValidationError
from server.payments.base import PaymentStatus, ProviderName, RefundStatus
from server.payments.errors import PaymentError, ProviderUnavailable
from server.payments.paystack import PaystackProvider
from tests.fakes.paystack_server import FakePaystack


def paystack(fake: FakePaystack, **overrides: str) -> PaystackProvider:
    return PaystackProvider(
        secret_key=overrides.get("secret_key", fake.secret_key),
        api_base=overrides.get("api_base", fake.url),
    )


async def initialized(fake: FakePaystack, reference: str = "pay-1", amount: int = 500_000) -> str:
    intent = await paystack(fake).create_intent(
        amount_minor=amount,
        currency="NGN",
        reference=reference,
        email="buyer@example.com",
        idempotency_key=None,
    )
    return intent.provider_ref


async def test_initialize_returns_the_authorization_url(fake_paystack: FakePaystack) -> None:
    intent = await paystack(fake_paystack).create_intent(
        amount_minor=500_000,
        currency="ngn",
        reference="pay-123",
        email="buyer@example.com",
        idempotency_key="ignored",
        metadata={"order_id": "ord-1"},
    )

    tx = fake_paystack.transactions["pay-123"]
    assert intent.provider is ProviderName.PAYSTACK
    assert (intent.provider_ref, intent.status) == ("pay-123", PaymentStatus.PENDING)
    assert (intent.amount_minor, intent.currency) == (500_000, "NGN")
    assert intent.authorization_url == f"https://checkout.paystack.com/{tx['access_code']}"
    assert intent.client_secret is None
    assert (tx["amount"], tx["currency"], tx["customer"]["email"]) == (
        500_000,
        "NGN",
        "buyer@example.com",
    )
    assert tx["metadata"] == {"order_id": "ord-1", "reference": "pay-123"}


async def test_a_reused_reference_is_a_conflict_and_creates_nothing(
    fake_paystack: FakePaystack,
) -> None:
    await initialized(fake_paystack, "pay-dup")

    with pytest.raises(PaymentError) as caught:
        await initialized(fake_paystack, "pay-dup")

    assert caught.value.code is ErrorCode.CONFLICT
    assert "already exists" in caught.value.message
    assert list(fake_paystack.transactions) == ["pay-dup"]


async def test_paystack_needs_an_email_and_a_supported_currency(
    fake_paystack: FakePaystack,
) -> None:
    provider = paystack(fake_paystack)

    with pytest.raises(ValidationError) as no_email:
        await provider.create_intent(
            amount_minor=100, currency="NGN", reference="p", email=None, idempotency_key=None
        )
    with pytest.raises(ValidationError) as euro:
        await provider.create_intent(
            amount_minor=100, currency="EUR", reference="p", email="a@b.co", idempotency_key=None
        )
    with pytest.raises(ValidationError) as bad_reference:
        await provider.create_intent(
            amount_minor=100, currency="NGN", reference="p/1", email="a@b.co", idempotency_key=None
        )

    assert no_email.value.field == ["email"]
    assert euro.value.field == ["currency"]
    assert euro.value.message.startswith("Paystack does not accept EUR")
    assert "letters, digits" in bad_reference.value.message
    assert fake_paystack.state.requests == []


async def test_paystack_refusals_become_payment_errors(fake_paystack: FakePaystack) -> None:
    with pytest.raises(PaymentError) as caught:
        await paystack(fake_paystack).create_intent(
            amount_minor=100,
            currency="NGN",
            reference="p",
            email="not-an-email",
            idempotency_key=None,
        )

    assert caught.value.code is ErrorCode.PAYMENT_FAILED
    assert caught.value.message == "Paystack refused the request: Invalid Email Address Passed"


async def test_a_wrong_secret_key_is_a_clear_payment_error(fake_paystack: FakePaystack) -> None:
    with pytest.raises(PaymentError) as caught:
        await paystack(fake_paystack, secret_key="sk_test_wrong").create_intent(
            amount_minor=100, currency="NGN", reference="p", email="a@b.co", idempotency_key=None
        )

    assert caught.value.message == "Paystack rejected this server's credentials."
    assert fake_paystack.transactions == {}


async def test_server_errors_and_unreachable_paystack_are_unavailable(
    fake_paystack: FakePaystack,
) -> None:
    fake_paystack.fail_next(1, status=502)

    with pytest.raises(ProviderUnavailable):
        await initialized(fake_paystack)
    with pytest.raises(ProviderUnavailable):
        await paystack(fake_paystack, api_base="http://127.0.0.1:9").retrieve(reference="x")


async def test_verify_reports_the_transaction_state(fake_paystack: FakePaystack) -> None:
    reference = await initialized(fake_paystack, amount=250_000)
    provider = paystack(fake_paystack)

    before = await provider.retrieve(reference=reference)
    fake_paystack.charge_success(reference)
    after = await provider.retrieve(provider_ref=reference)

    assert before.status is PaymentStatus.PENDING
    assert after.status is PaymentStatus.SUCCEEDED
    assert (after.reference, after.amount_minor, after.currency) == (reference, 250_000, "NGN")
    assert after.amount_refunded_minor == 0


async def test_verify_of_a_failed_or_unknown_transaction(fake_paystack: FakePaystack) -> None:
    reference = await initialized(fake_paystack)
    fake_paystack.charge_failed(reference)

    failed = await paystack(fake_paystack).retrieve(reference=reference)
    with pytest.raises(PaymentError) as unknown:
        await paystack(fake_paystack).retrieve(reference="nope")

    assert failed.status is PaymentStatus.FAILED
    assert unknown.value.message == "Paystack refused the request: Transaction reference not found"


async def test_refunds_are_queued_then_a_full_refund_reverses_the_transaction(
    fake_paystack: FakePaystack,
) -> None:
    reference = await initialized(fake_paystack, amount=100_000)
    fake_paystack.charge_success(reference)
    provider = paystack(fake_paystack)

    part = await provider.refund(
        provider_ref=reference,
        amount_minor=40_000,
        currency="NGN",
        idempotency_key=None,
        reason="Duplicate order",
    )
    rest = await provider.refund(
        provider_ref=reference, amount_minor=60_000, currency="NGN", idempotency_key=None
    )
    state = await provider.retrieve(reference=reference)

    assert (part.status, part.amount_minor, part.payment_ref) == (
        RefundStatus.PENDING,
        40_000,
        reference,
    )
    assert fake_paystack.refunds[int(part.provider_ref)]["merchant_note"] == "Duplicate order"
    assert rest.amount_minor == 60_000
    assert (state.status, state.amount_refunded_minor) == (PaymentStatus.SUCCEEDED, 100_000)


async def test_refunding_more_than_was_paid_is_a_payment_error(
    fake_paystack: FakePaystack,
) -> None:
    reference = await initialized(fake_paystack, amount=100_000)
    fake_paystack.charge_success(reference)

    with pytest.raises(PaymentError) as caught:
        await paystack(fake_paystack).refund(
            provider_ref=reference, amount_minor=100_001, currency="NGN", idempotency_key=None
        )

    assert "cannot be more than" in caught.value.message
    assert fake_paystack.refunds == {}


@pytest.mark.parametrize(
    ("amount", "currency", "fee"),
    [
        (200_000, "NGN", 3_000),  # NGN 2,000: 1.5%, the NGN 100 waived under NGN 2,500
        (1_000_000, "NGN", 25_000),  # NGN 10,000: 1.5% + NGN 100
        (20_000_000, "NGN", 200_000),  # NGN 200,000: capped at NGN 2,000
        (10_000, "GHS", 195),  # 1.95%
        (10_000, "ZAR", 390),  # 2.9% + R1
        (10_050, "KES", 291),  # 291.45 rounds to 291
        (10_000, "USD", 390),  # international: 3.9%
    ],
)
async def test_paystack_fees_follow_the_published_rates(
    amount: int, currency: str, fee: int, fake_paystack: FakePaystack
) -> None:
    assert paystack(fake_paystack).processing_fee(amount, currency) == fee
