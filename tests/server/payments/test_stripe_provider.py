"""The Stripe provider through the official SDK against the fake Stripe server."""

from __future__ import annotations

import pytest

from server.errors import ErrorCode, ValidationError
from server.payments.base import PaymentStatus, ProviderName, RefundStatus
from server.payments.errors import PaymentError, ProviderUnavailable
from server.payments.stripe_provider import StripeProvider
from tests.fakes.stripe_server import FakeStripe


def stripe_provider(fake: FakeStripe, **overrides: str) -> StripeProvider:
    return StripeProvider(
        secret_key=overrides.get("secret_key", fake.secret_key),
        webhook_secret=fake.webhook_secret,
        api_base=overrides.get("api_base", fake.url),
    )


async def paid_intent(fake: FakeStripe, amount: int = 5000) -> str:
    intent = await stripe_provider(fake).create_intent(
        amount_minor=amount,
        currency="USD",
        reference="pay-1",
        email=None,
        idempotency_key="key-paid",
    )
    fake.succeed(intent.provider_ref)
    return intent.provider_ref


async def test_create_intent_sends_amount_reference_and_idempotency_key(
    fake_stripe: FakeStripe,
) -> None:
    provider = stripe_provider(fake_stripe)

    intent = await provider.create_intent(
        amount_minor=2500,
        currency="usd",
        reference="pay-123",
        email="buyer@example.com",
        idempotency_key="idem-1",
        metadata={"order_id": "ord-9"},
    )

    assert intent.provider is ProviderName.STRIPE
    assert intent.status is PaymentStatus.PENDING
    assert (intent.amount_minor, intent.currency) == (2500, "USD")
    assert intent.client_secret is not None
    assert intent.client_secret.startswith(f"{intent.provider_ref}_secret_")
    stored = fake_stripe.intents[intent.provider_ref]
    assert stored["amount"] == 2500
    assert stored["currency"] == "usd"
    assert stored["metadata"] == {"order_id": "ord-9", "reference": "pay-123"}
    assert stored["receipt_email"] == "buyer@example.com"
    [request] = fake_stripe.requests
    assert (request.method, request.path, request.idempotency_key) == (
        "POST",
        "/v1/payment_intents",
        "idem-1",
    )


async def test_retry_with_the_same_idempotency_key_returns_the_same_intent(
    fake_stripe: FakeStripe,
) -> None:
    provider = stripe_provider(fake_stripe)
    args = {
        "amount_minor": 2500,
        "currency": "USD",
        "reference": "pay-1",
        "email": None,
        "idempotency_key": "idem-same",
    }

    first = await provider.create_intent(**args)  # type: ignore[arg-type]
    second = await provider.create_intent(**args)  # type: ignore[arg-type]

    assert second == first
    assert list(fake_stripe.intents) == [first.provider_ref]


async def test_reusing_a_key_for_another_amount_is_a_payment_error(
    fake_stripe: FakeStripe,
) -> None:
    provider = stripe_provider(fake_stripe)
    await provider.create_intent(
        amount_minor=2500, currency="USD", reference="p", email=None, idempotency_key="k"
    )

    with pytest.raises(PaymentError) as caught:
        await provider.create_intent(
            amount_minor=9900, currency="USD", reference="p", email=None, idempotency_key="k"
        )

    assert caught.value.code is ErrorCode.PAYMENT_FAILED
    assert "idempotency key" in caught.value.message
    assert len(fake_stripe.intents) == 1


async def test_a_transient_server_error_is_retried_with_the_same_key(
    fake_stripe: FakeStripe,
) -> None:
    fake_stripe.fail_next(1, status=500)

    intent = await stripe_provider(fake_stripe).create_intent(
        amount_minor=1000, currency="USD", reference="p", email=None, idempotency_key="k-retry"
    )

    assert list(fake_stripe.intents) == [intent.provider_ref]
    assert [r.idempotency_key for r in fake_stripe.requests] == ["k-retry", "k-retry"]


async def test_a_persistent_server_error_is_provider_unavailable(fake_stripe: FakeStripe) -> None:
    fake_stripe.fail_next(3, status=500)

    with pytest.raises(ProviderUnavailable) as caught:
        await stripe_provider(fake_stripe).create_intent(
            amount_minor=1000, currency="USD", reference="p", email=None, idempotency_key="k"
        )

    assert caught.value.code is ErrorCode.PAYMENT_FAILED
    assert fake_stripe.intents == {}


async def test_stripe_validation_errors_become_payment_errors(fake_stripe: FakeStripe) -> None:
    with pytest.raises(PaymentError) as caught:
        await stripe_provider(fake_stripe).create_intent(
            amount_minor=10, currency="USD", reference="p", email=None, idempotency_key="k"
        )

    assert caught.value.code is ErrorCode.PAYMENT_FAILED
    assert caught.value.message == "Stripe refused the request: Amount must be at least 50 usd"
    assert fake_stripe.intents == {}


async def test_a_wrong_secret_key_is_a_clear_payment_error(fake_stripe: FakeStripe) -> None:
    provider = stripe_provider(fake_stripe, secret_key="sk_test_wrong")

    with pytest.raises(PaymentError) as caught:
        await provider.create_intent(
            amount_minor=1000, currency="USD", reference="p", email=None, idempotency_key="k"
        )

    assert caught.value.message == "Stripe rejected this server's credentials."


async def test_an_unreachable_stripe_is_provider_unavailable(fake_stripe: FakeStripe) -> None:
    provider = stripe_provider(fake_stripe, api_base="http://127.0.0.1:9")

    with pytest.raises(ProviderUnavailable):
        await provider.create_intent(
            amount_minor=1000, currency="USD", reference="p", email=None, idempotency_key="k"
        )


async def test_bad_amounts_are_refused_before_calling_stripe(fake_stripe: FakeStripe) -> None:
    provider = stripe_provider(fake_stripe)

    with pytest.raises(ValidationError) as zero:
        await provider.create_intent(
            amount_minor=0, currency="USD", reference="p", email=None, idempotency_key=None
        )
    with pytest.raises(ValidationError) as currency:
        await provider.create_intent(
            amount_minor=100, currency="XXQ", reference="p", email=None, idempotency_key=None
        )

    assert zero.value.message == "The amount must be positive."
    assert currency.value.field == ["currency"]
    assert fake_stripe.requests == []


async def test_retrieve_reports_a_paid_and_partly_refunded_intent(fake_stripe: FakeStripe) -> None:
    intent_id = await paid_intent(fake_stripe, amount=5000)
    fake_stripe.refund(intent_id, amount=1200)

    state = await stripe_provider(fake_stripe).retrieve(provider_ref=intent_id)

    assert state.status is PaymentStatus.SUCCEEDED
    assert (state.amount_minor, state.currency, state.amount_refunded_minor) == (5000, "USD", 1200)
    assert state.reference == "pay-1"


async def test_retrieve_by_reference_searches_the_metadata(fake_stripe: FakeStripe) -> None:
    intent_id = await paid_intent(fake_stripe)

    fake_stripe.refund(intent_id, amount=700)

    state = await stripe_provider(fake_stripe).retrieve(reference="pay-1")

    assert state.provider_ref == intent_id
    assert state.status is PaymentStatus.SUCCEEDED
    assert state.amount_refunded_minor == 700
    [search] = [r for r in fake_stripe.requests if r.path.endswith("/search")]
    assert search.params["query"] == "metadata['reference']:'pay-1'"


async def test_retrieve_of_a_failed_attempt_is_failed(fake_stripe: FakeStripe) -> None:
    provider = stripe_provider(fake_stripe)
    intent = await provider.create_intent(
        amount_minor=1000, currency="EUR", reference="p", email=None, idempotency_key=None
    )
    fake_stripe.fail(intent.provider_ref)

    state = await provider.retrieve(provider_ref=intent.provider_ref)

    assert state.status is PaymentStatus.FAILED


async def test_retrieve_of_an_unknown_intent_is_a_payment_error(fake_stripe: FakeStripe) -> None:
    with pytest.raises(PaymentError) as missing_id:
        await stripe_provider(fake_stripe).retrieve(provider_ref="pi_missing")
    with pytest.raises(PaymentError) as missing_ref:
        await stripe_provider(fake_stripe).retrieve(reference="nobody")

    assert "No such payment_intent: 'pi_missing'" in missing_id.value.message
    assert missing_ref.value.message == "Stripe has no payment for reference 'nobody'."


async def test_partial_refund_is_idempotent_by_key(fake_stripe: FakeStripe) -> None:
    intent_id = await paid_intent(fake_stripe, amount=5000)
    provider = stripe_provider(fake_stripe)

    first = await provider.refund(
        provider_ref=intent_id,
        amount_minor=2000,
        currency="USD",
        idempotency_key="refund-1",
        reason="Customer asked",
    )
    again = await provider.refund(
        provider_ref=intent_id,
        amount_minor=2000,
        currency="USD",
        idempotency_key="refund-1",
        reason="Customer asked",
    )

    assert again == first
    assert (first.status, first.amount_minor, first.payment_ref) == (
        RefundStatus.SUCCEEDED,
        2000,
        intent_id,
    )
    assert list(fake_stripe.state.refunds) == [first.provider_ref]
    assert fake_stripe.state.refunds[first.provider_ref]["metadata"] == {"reason": "Customer asked"}


async def test_refunding_more_than_was_paid_is_a_payment_error(fake_stripe: FakeStripe) -> None:
    intent_id = await paid_intent(fake_stripe, amount=5000)

    with pytest.raises(PaymentError) as caught:
        await stripe_provider(fake_stripe).refund(
            provider_ref=intent_id, amount_minor=6000, currency="USD", idempotency_key=None
        )

    assert "greater than unrefunded amount" in caught.value.message
    assert fake_stripe.state.refunds == {}


async def test_refunding_an_unpaid_intent_is_a_payment_error(fake_stripe: FakeStripe) -> None:
    intent = await stripe_provider(fake_stripe).create_intent(
        amount_minor=1000, currency="USD", reference="p", email=None, idempotency_key=None
    )

    with pytest.raises(PaymentError) as caught:
        await stripe_provider(fake_stripe).refund(
            provider_ref=intent.provider_ref,
            amount_minor=1000,
            currency="USD",
            idempotency_key=None,
        )

    assert "does not have a successful charge to refund" in caught.value.message


@pytest.mark.parametrize(
    ("amount", "currency", "fee"),
    [
        (10_000, "USD", 320),  # 2.9% + 30
        (1_000, "EUR", 40),  # 1.5% + 25
        (1_050, "GBP", 36),  # 15.75 rounds half up to 16, + 20
        (10_000, "JPY", 360),  # 3.6%, zero-decimal currency
        (10_000, "NGN", 290),  # default: 2.9%
    ],
)
async def test_stripe_fees_follow_the_published_rates(
    amount: int, currency: str, fee: int, fake_stripe: FakeStripe
) -> None:
    provider = stripe_provider(fake_stripe)

    assert provider.processing_fee(amount, currency) == fee
