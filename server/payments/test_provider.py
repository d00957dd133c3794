"""The offline TEST provider: no network, no state, and confirmation through the same
webhook path (store once, apply once) as the real providers.

- create_intent returns an intent whose id is derived from the idempotency key (the same
  key and arguments give the same intent) and a `client_secret` that carries the
  reference, amount and currency, signed, so no server-side state is needed.
- The buyer "pays" with `POST /payments/test/{reference}/succeed` (or `/fail`) and body
  `{"clientSecret": "..."}`: the server turns that into a signed TEST event and feeds it
  to the webhook pipeline. Repeating it is harmless: the event id is fixed per intent.
- Anyone holding the signing key (tests, the benchmark) may also post events straight to
  `POST /webhooks/test`, signed like Stripe's: header `X-Test-Signature: t=<unix>,v1=<hex
  HMAC-SHA256 over "<t>.<raw body>">`, tolerance 300 s. The key is
  `HMAC-SHA256(JWT key, "eventapi test payments v1")` (`signing_key`).

Event body: `{"id": str, "type": str, "created": int, "data": {"reference": str,
"provider_ref": str, "amount": int, "currency": str, ...}}` with `type` one of
`payment.succeeded`, `payment.failed`, `refund.succeeded` (`data.amount` refunded,
optional `data.refund_id`), `dispute.opened`, `dispute.closed` (`data.outcome`: won/lost).

There is nothing to reconcile: `retrieve` reports PENDING with unknown amounts. Fees are 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.config import Settings
from server.ids import new_id
from server.numbers import whole_number
from server.payments.base import (
    DisputeOutcome,
    EventKind,
    PaymentIntent,
    PaymentProvider,
    PaymentState,
    PaymentStatus,
    ProviderEvent,
    ProviderName,
    Refund,
    RefundStatus,
    check_amount,
    check_signed_at,
    header,
    load_webhook_json,
)
from server.payments.errors import InvalidPaymentRequest, InvalidSignature, MalformedWebhook

SIGNATURE_HEADER = "X-Test-Signature"
WEBHOOK_TOLERANCE_SECONDS = 300
SECRET_MARKER = "_secret_"  # noqa: S105 (a separator, like Stripe's client secrets)
KINDS = {
    "payment.succeeded": EventKind.PAYMENT_SUCCEEDED,
    "payment.failed": EventKind.PAYMENT_FAILED,
    "refund.succeeded": EventKind.REFUNDED,
    "dispute.opened": EventKind.DISPUTE_OPENED,
    "dispute.closed": EventKind.DISPUTE_CLOSED,
}


def signing_key(settings: Settings) -> bytes:
    return hmac.new(
        settings.jwt_key.encode(), b"eventapi test payments v1", hashlib.sha256
    ).digest()


def sign_payload(body: bytes, key: bytes, *, timestamp: int | None = None) -> str:
    """The `X-Test-Signature` header value for a raw body."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(key, f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


@dataclass(frozen=True)
class TestIntent:
    __test__ = False  # not a pytest test class

    provider_ref: str
    reference: str
    amount_minor: int
    currency: str


def build_event(
    event_type: str,
    intent: TestIntent,
    *,
    event_id: str | None = None,
    amount_minor: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A TEST event for an intent; `amount_minor` overrides the intent's amount."""
    return {
        "id": event_id or f"evt_test_{new_id().hex}",
        "type": event_type,
        "created": int(time.time()),
        "data": {
            "reference": intent.reference,
            "provider_ref": intent.provider_ref,
            "amount": intent.amount_minor if amount_minor is None else amount_minor,
            "currency": intent.currency,
            **extra,
        },
    }


def completion_event(intent: TestIntent, *, succeeded: bool) -> dict[str, Any]:
    outcome = "succeeded" if succeeded else "failed"
    return build_event(
        f"payment.{outcome}", intent, event_id=f"evt_test_{intent.provider_ref}_{outcome}"
    )


class TestProvider(PaymentProvider):
    __test__ = False  # not a pytest test class
    name = ProviderName.TEST
    local = True

    def __init__(self, *, key: bytes) -> None:
        self._key = key

    def _mac(self, message: str, length: int = 32) -> str:
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()[:length]

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
        seed = idempotency_key or new_id().hex
        provider_ref = "test_pi_" + self._mac(f"{seed}|{reference}|{amount_minor}|{currency}", 24)
        payload = json.dumps({"r": reference, "a": amount_minor, "c": currency}).encode()
        token = base64.urlsafe_b64encode(payload).decode().rstrip("=")
        secret = f"{provider_ref}{SECRET_MARKER}{token}.{self._mac(f'{provider_ref}.{token}')}"
        return PaymentIntent(
            provider=self.name,
            provider_ref=provider_ref,
            status=PaymentStatus.PENDING,
            amount_minor=amount_minor,
            currency=currency,
            client_secret=secret,
        )

    def decode_client_secret(self, client_secret: str) -> TestIntent:
        """The intent a client secret stands for; refuses anything this server did not
        sign."""
        invalid = InvalidPaymentRequest(
            "This is not a valid TEST client secret.", field="clientSecret"
        )
        provider_ref, marker, rest = client_secret.partition(SECRET_MARKER)
        token, dot, mac = rest.partition(".")
        if not marker or not dot or not provider_ref.startswith("test_pi_"):
            raise invalid
        if not hmac.compare_digest(mac, self._mac(f"{provider_ref}.{token}")):
            raise invalid
        try:
            data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            return TestIntent(provider_ref, str(data["r"]), int(data["a"]), str(data["c"]))
        except (ValueError, KeyError, TypeError):
            raise invalid from None

    async def retrieve(
        self, *, provider_ref: str | None = None, reference: str | None = None
    ) -> PaymentState:
        return PaymentState(
            provider=self.name,
            provider_ref=provider_ref or "",
            reference=reference,
            status=PaymentStatus.PENDING,
            amount_minor=None,
            currency=None,
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
        seed = idempotency_key or new_id().hex
        return Refund(
            provider=self.name,
            provider_ref="test_re_" + self._mac(f"{seed}|{provider_ref}|{amount_minor}", 24),
            payment_ref=provider_ref,
            status=RefundStatus.SUCCEEDED,
            amount_minor=amount_minor,
            currency=currency,
        )

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        self._verify(raw_body, header(headers, SIGNATURE_HEADER))
        return normalize(load_webhook_json(raw_body))

    def processing_fee(self, amount_minor: int, currency: str) -> int:
        return 0

    def _verify(self, raw_body: bytes, signature: str | None) -> None:
        if not signature:
            raise InvalidSignature(f"The {SIGNATURE_HEADER} header is missing.")
        parts = dict(part.split("=", 1) for part in signature.split(",") if "=" in part)
        timestamp = whole_number(parts.get("t"), max_digits=12)
        if timestamp is None or "v1" not in parts:
            raise InvalidSignature(f"The {SIGNATURE_HEADER} header is not t=...,v1=....")
        expected = sign_payload(raw_body, self._key, timestamp=timestamp)
        if not hmac.compare_digest(expected.encode(), f"t={timestamp},v1={parts['v1']}".encode()):
            raise InvalidSignature("Invalid TEST signature.")
        check_signed_at(timestamp, "TEST", WEBHOOK_TOLERANCE_SECONDS)


def normalize(event: Any) -> ProviderEvent:
    if not isinstance(event, dict):
        raise MalformedWebhook("The webhook body is not a JSON object.")
    event_id, event_type, data = event.get("id"), event.get("type"), event.get("data")
    if not isinstance(event_id, str) or not event_id:
        raise MalformedWebhook("The TEST event is missing id.")
    if not isinstance(event_type, str) or not event_type:
        raise MalformedWebhook("The TEST event is missing type.")
    if not isinstance(data, dict):
        raise MalformedWebhook("The TEST event is missing data.")
    kind = KINDS.get(event_type, EventKind.OTHER)
    if kind is EventKind.OTHER:
        return ProviderEvent(
            ProviderName.TEST, event_id, event_type, kind, None, None, None, None, raw=event
        )
    for key in ("reference", "provider_ref", "currency"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise MalformedWebhook(f"The TEST event is missing data.{key}.")
    amount = data.get("amount")
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise MalformedWebhook("The TEST event is missing data.amount (an amount in minor units).")
    outcome = None
    if kind is EventKind.DISPUTE_CLOSED:
        if data.get("outcome") not in ("won", "lost"):
            raise MalformedWebhook("The TEST event is missing data.outcome (won or lost).")
        outcome = DisputeOutcome(data["outcome"])
    refund_id = data.get("refund_id")
    return ProviderEvent(
        provider=ProviderName.TEST,
        event_id=event_id,
        event_type=event_type,
        kind=kind,
        reference=data["reference"],
        provider_ref=data["provider_ref"],
        amount_minor=amount,
        currency=data["currency"].upper(),
        refunded_total_minor=None,
        refund_ref=refund_id if isinstance(refund_id, str) else None,
        dispute_outcome=outcome,
        failure_message=data.get("message") if isinstance(data.get("message"), str) else None,
        raw=event,
    )
