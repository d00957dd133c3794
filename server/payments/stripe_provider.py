"""Stripe through the official SDK's async client (httpx underneath, so nothing blocks the
event loop). `STRIPE_API_BASE` points the SDK elsewhere (the tests' fake Stripe).

- create_intent: `POST /v1/payment_intents` with the Idempotency-Key, our reference in
  `metadata[reference]`, card and wallet methods chosen by Stripe
  (`automatic_payment_methods`).
- retrieve: the PaymentIntent by id (with its latest charge, for the refunded amount), or
  found by our reference through the search API.
- refund: `POST /v1/refunds` against the PaymentIntent, with the Idempotency-Key.
- webhooks: the SDK's signature check (`stripe.WebhookSignature.verify_header`, what
  `stripe.Webhook.construct_event` runs first) with a 300 s timestamp tolerance; see
  `stripe_events` for how events are normalized.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, NoReturn

import stripe

from server.payments import stripe_events
from server.payments.base import (
    PaymentIntent,
    PaymentProvider,
    PaymentState,
    ProviderEvent,
    ProviderName,
    Refund,
    RefundStatus,
    check_amount,
    check_signed_at,
    header,
    load_webhook_json,
)
from server.payments.errors import (
    InvalidSignature,
    MalformedWebhook,
    PaymentError,
    ProviderNotConfigured,
    ProviderUnavailable,
)
from server.payments.fees import FeeRate

WEBHOOK_TOLERANCE_SECONDS = 300
MAX_NETWORK_RETRIES = 2  # the SDK retries connection errors, 409 and 5xx, same key
TIMEOUT_SECONDS = 30

# Stripe's standard published pricing for domestic cards, per currency; elsewhere the
# percentage alone (the fixed part is priced in the local currency and not listed here).
FEES: dict[str, FeeRate] = {
    "USD": FeeRate(290, 30),
    "CAD": FeeRate(290, 30),
    "AUD": FeeRate(170, 30),
    "EUR": FeeRate(150, 25),
    "GBP": FeeRate(150, 20),
    "JPY": FeeRate(360),
}
DEFAULT_FEE = FeeRate(290)

REFUND_STATUSES = {
    "succeeded": RefundStatus.SUCCEEDED,
    "failed": RefundStatus.FAILED,
    "canceled": RefundStatus.FAILED,
}


class StripeProvider(PaymentProvider):
    name = ProviderName.STRIPE

    def __init__(
        self, *, secret_key: str, webhook_secret: str | None, api_base: str | None = None
    ) -> None:
        self._secret_key = secret_key
        self._webhook_secret = webhook_secret
        self._api_base = api_base.rstrip("/") if api_base else None

    @asynccontextmanager
    async def _client(self) -> AsyncIterator[stripe.StripeClient]:
        http_client = stripe.HTTPXClient(timeout=TIMEOUT_SECONDS)
        base_addresses = {"api": self._api_base} if self._api_base else None
        try:
            yield stripe.StripeClient(
                self._secret_key,
                base_addresses=base_addresses,  # type: ignore[arg-type]
                http_client=http_client,
                max_network_retries=MAX_NETWORK_RETRIES,
            )
        except stripe.StripeError as exc:
            _raise_domain_error(exc)
        finally:
            await http_client.close_async()

    async def create_intent(
        self,
        *,
        amount_minor: int,
        currency: str,
        reference: str,
        email: str | None,
        idempotency_key: str | None,
        metadata: Mapping[str, str] | None = None,
    ) -> PaymentIntent:
        currency = check_amount(amount_minor, currency)
        params: dict[str, Any] = {
            "amount": amount_minor,
            "currency": currency.lower(),
            "metadata": {
                **{k: str(v) for k, v in (metadata or {}).items()},
                "reference": reference,
            },
            "automatic_payment_methods": {"enabled": True},
        }
        if email:
            params["receipt_email"] = email
        async with self._client() as client:
            intent = await client.v1.payment_intents.create_async(
                params,  # type: ignore[arg-type]
                options=_options(idempotency_key),
            )
        data = _plain(intent)
        return PaymentIntent(
            provider=self.name,
            provider_ref=data["id"],
            status=stripe_events.intent_status(data),
            amount_minor=int(data["amount"]),
            currency=str(data["currency"]).upper(),
            client_secret=data.get("client_secret"),
            raw=data,
        )

    async def retrieve(
        self, *, provider_ref: str | None = None, reference: str | None = None
    ) -> PaymentState:
        if not provider_ref and not reference:
            raise PaymentError("A payment id or reference is needed to look a payment up.")
        async with self._client() as client:
            if provider_ref:
                intent = await client.v1.payment_intents.retrieve_async(
                    provider_ref, {"expand": ["latest_charge"]}
                )
                data = _plain(intent)
            else:
                found = await client.v1.payment_intents.search_async(
                    {
                        "query": f"metadata['reference']:'{_quoted(reference or '')}'",
                        "limit": 1,
                        "expand": ["data.latest_charge"],
                    }
                )
                matches = _plain(found).get("data") or []
                if not matches:
                    raise PaymentError(f"Stripe has no payment for reference {reference!r}.")
                data = matches[0]
        charge = data.get("latest_charge")
        refunded = int(charge.get("amount_refunded") or 0) if isinstance(charge, dict) else 0
        return PaymentState(
            provider=self.name,
            provider_ref=data["id"],
            reference=(data.get("metadata") or {}).get("reference"),
            status=stripe_events.intent_status(data),
            amount_minor=int(data.get("amount_received") or data["amount"]),
            currency=str(data["currency"]).upper(),
            amount_refunded_minor=refunded,
            raw=data,
        )

    async def refund(
        self,
        *,
        provider_ref: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str | None,
        reason: str | None = None,
    ) -> Refund:
        currency = check_amount(amount_minor, currency)
        params: dict[str, Any] = {
            "payment_intent": provider_ref,
            "amount": amount_minor,
            "reason": "requested_by_customer",
        }
        if reason:
            params["metadata"] = {"reason": reason[:500]}
        async with self._client() as client:
            refund = await client.v1.refunds.create_async(
                params,  # type: ignore[arg-type]
                options=_options(idempotency_key),
            )
        data = _plain(refund)
        return Refund(
            provider=self.name,
            provider_ref=data["id"],
            payment_ref=data.get("payment_intent") or provider_ref,
            status=REFUND_STATUSES.get(str(data.get("status")), RefundStatus.PENDING),
            amount_minor=int(data["amount"]),
            currency=str(data.get("currency") or currency).upper(),
            raw=data,
        )

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        if not self._webhook_secret:
            raise ProviderNotConfigured("Stripe webhooks are not configured on this server.")
        signature = header(headers, "Stripe-Signature")
        if not signature:
            raise InvalidSignature("The Stripe-Signature header is missing.")
        # The verification half of `stripe.Webhook.construct_event`; we keep the event as
        # plain JSON rather than an SDK object (and a non-object body is ours to report).
        try:
            stripe.WebhookSignature.verify_header(
                raw_body, signature, self._webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
            )
        except stripe.SignatureVerificationError as exc:
            raise InvalidSignature(f"Invalid Stripe signature: {exc.user_message}") from None
        except UnicodeDecodeError:
            raise MalformedWebhook("The webhook body is not UTF-8 text.") from None
        # The SDK refuses old timestamps only; verified, `t` is well formed.
        signed_at = next(p[2:] for p in signature.split(",") if p.startswith("t="))
        check_signed_at(int(signed_at), "Stripe", WEBHOOK_TOLERANCE_SECONDS)
        return stripe_events.normalize(load_webhook_json(raw_body))

    def processing_fee(self, amount_minor: int, currency: str) -> int:
        return FEES.get(currency.upper(), DEFAULT_FEE).fee(amount_minor)


def _options(idempotency_key: str | None) -> Any:
    return {"idempotency_key": idempotency_key} if idempotency_key else None


def _plain(obj: Any) -> dict[str, Any]:
    """An SDK object as plain JSON data (what the API sent)."""
    return obj if isinstance(obj, dict) else obj.to_dict(for_json=True)


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


def _raise_domain_error(exc: stripe.StripeError) -> NoReturn:
    message = exc.user_message or "Stripe refused the request."
    if isinstance(exc, stripe.CardError):
        raise PaymentError(message) from None
    if isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        raise PaymentError("Stripe rejected this server's credentials.") from None
    if isinstance(exc, stripe.IdempotencyError):
        raise PaymentError(
            "This idempotency key was already used for a different payment request."
        ) from None
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError):
        raise ProviderUnavailable("Stripe could not be reached; try again shortly.") from None
    if exc.http_status is not None and exc.http_status >= 500:
        raise ProviderUnavailable("Stripe is having trouble; try again shortly.") from None
    raise PaymentError(f"Stripe refused the request: {message}") from None
