"""Paystack over HTTPS with httpx (`PAYSTACK_API_BASE`, the tests' fake Paystack).

Every response is Paystack's envelope `{"status": bool, "message": str, "data": ...}`.

- create_intent: `POST /transaction/initialize` (amount in the currency's subunit, email,
  our reference as the transaction reference, currency, metadata) returns the
  `authorization_url` the buyer is sent to. Paystack has no idempotency keys: the
  reference is the key, and Paystack refuses a second initialize with the same reference
  ("Duplicate Transaction Reference"), which we report as a CONFLICT. Callers use one
  reference per payment attempt and keep the URL they got.
- retrieve: `GET /transaction/verify/{reference}`.
- refund: `POST /refund` (`transaction` = our reference). No idempotency key either: a
  caller retrying a refund must first check what it already recorded.
- webhooks: `x-paystack-signature` is the hex HMAC-SHA512 of the raw body keyed with the
  secret key, compared in constant time; see `paystack_events`.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import httpx

from server.errors import ErrorCode
from server.payments import paystack_events
from server.payments.base import (
    PaymentIntent,
    PaymentProvider,
    PaymentState,
    PaymentStatus,
    ProviderEvent,
    ProviderName,
    Refund,
    RefundStatus,
    check_amount,
    header,
    load_webhook_json,
)
from server.payments.errors import (
    InvalidPaymentRequest,
    InvalidSignature,
    PaymentError,
    ProviderUnavailable,
)
from server.payments.fees import FeeRate

TIMEOUT_SECONDS = 30
CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD", "XOF"})
REFERENCE_RE = re.compile(r"^[A-Za-z0-9.=-]{1,100}$")

# Paystack's published prices for local cards; other currencies pay the international rate.
FEES: dict[str, FeeRate] = {
    # 1.5% + NGN 100, the NGN 100 waived under NGN 2,500, capped at NGN 2,000 (in kobo).
    "NGN": FeeRate(150, 100_00, fixed_waived_below=2_500_00, cap_minor=2_000_00),
    "GHS": FeeRate(195),
    "KES": FeeRate(290),
    "ZAR": FeeRate(290, 1_00),
}
INTERNATIONAL_FEE = FeeRate(390)

TRANSACTION_STATUSES = {
    "success": PaymentStatus.SUCCEEDED,
    "reversed": PaymentStatus.SUCCEEDED,  # paid, then refunded in full
    "failed": PaymentStatus.FAILED,
}
REFUND_STATUSES = {"processed": RefundStatus.SUCCEEDED, "failed": RefundStatus.FAILED}


class PaystackProvider(PaymentProvider):
    name = ProviderName.PAYSTACK
    keyed_retries = False

    def __init__(self, *, secret_key: str, api_base: str) -> None:
        self._secret_key = secret_key
        self._api_base = api_base.rstrip("/")

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
        currency = self._check(amount_minor, currency)
        if not email:
            raise InvalidPaymentRequest("Paystack needs the buyer's email address.", field="email")
        if not REFERENCE_RE.match(reference):
            raise InvalidPaymentRequest(
                "A Paystack reference may only hold letters, digits, '-', '.' and '='."
            )
        body = {
            "amount": amount_minor,
            "email": email,
            "reference": reference,
            "currency": currency,
            "metadata": {
                **{k: str(v) for k, v in (metadata or {}).items()},
                "reference": reference,
            },
        }
        try:
            data = await self._request("POST", "/transaction/initialize", body)
        except PaymentError as exc:
            if "duplicate" in exc.message.lower():
                raise PaymentError(
                    f"A Paystack transaction with reference {reference!r} already exists; "
                    "start a new payment attempt.",
                    code=ErrorCode.CONFLICT,
                ) from None
            raise
        url = data.get("authorization_url")
        if not isinstance(url, str) or not url:
            raise ProviderUnavailable("Paystack did not return an authorization URL.")
        return PaymentIntent(
            provider=self.name,
            provider_ref=str(data.get("reference") or reference),
            status=PaymentStatus.PENDING,
            amount_minor=amount_minor,
            currency=currency,
            authorization_url=url,
            raw=data,
        )

    async def retrieve(
        self, *, provider_ref: str | None = None, reference: str | None = None
    ) -> PaymentState:
        ref = provider_ref or reference
        if not ref:
            raise PaymentError("A payment reference is needed to look a payment up.")
        data = await self._request("GET", f"/transaction/verify/{quote(ref, safe='')}")
        status = str(data.get("status"))
        amount = int(data.get("amount") or 0)
        return PaymentState(
            provider=self.name,
            provider_ref=str(data.get("reference") or ref),
            reference=str(data.get("reference") or ref),
            status=TRANSACTION_STATUSES.get(status, PaymentStatus.PENDING),
            amount_minor=amount,
            currency=str(data.get("currency") or "").upper() or None,
            amount_refunded_minor=amount if status == "reversed" else 0,
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
        currency = self._check(amount_minor, currency)
        body: dict[str, Any] = {
            "transaction": provider_ref,
            "amount": amount_minor,
            "currency": currency,
        }
        if reason:
            body["merchant_note"] = reason[:500]
        data = await self._request("POST", "/refund", body)
        return Refund(
            provider=self.name,
            provider_ref=str(data.get("id")),
            payment_ref=provider_ref,
            status=REFUND_STATUSES.get(str(data.get("status")), RefundStatus.PENDING),
            amount_minor=int(data.get("amount") or amount_minor),
            currency=str(data.get("currency") or currency).upper(),
            raw=data,
        )

    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        signature = header(headers, "x-paystack-signature")
        if not signature:
            raise InvalidSignature("The x-paystack-signature header is missing.")
        expected = sign(raw_body, self._secret_key)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise InvalidSignature("Invalid Paystack signature.")
        return paystack_events.normalize(load_webhook_json(raw_body))

    def processing_fee(self, amount_minor: int, currency: str) -> int:
        return FEES.get(currency.upper(), INTERNATIONAL_FEE).fee(amount_minor)

    def _check(self, amount_minor: int, currency: str) -> str:
        currency = check_amount(amount_minor, currency)
        if currency not in CURRENCIES:
            raise InvalidPaymentRequest(
                f"Paystack does not accept {currency}; use one of {', '.join(sorted(CURRENCIES))}.",
                field="currency",
            )
        return currency

    async def _request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self._secret_key}"}
        try:
            async with httpx.AsyncClient(
                base_url=self._api_base, headers=headers, timeout=TIMEOUT_SECONDS
            ) as client:
                response = await client.request(method, path, json=body)
        except httpx.HTTPError:
            raise ProviderUnavailable("Paystack could not be reached; try again shortly.") from None
        if response.status_code >= 500:
            raise ProviderUnavailable("Paystack is having trouble; try again shortly.")
        try:
            envelope = response.json()
        except ValueError:
            raise ProviderUnavailable("Paystack sent a response we could not read.") from None
        if response.status_code == 401:
            raise PaymentError("Paystack rejected this server's credentials.")
        message = envelope.get("message") if isinstance(envelope, dict) else None
        if (
            response.status_code >= 400
            or not isinstance(envelope, dict)
            or not envelope.get("status")
        ):
            raise PaymentError(f"Paystack refused the request: {message or 'no reason given'}")
        data = envelope.get("data")
        if not isinstance(data, dict):
            raise ProviderUnavailable("Paystack sent a response we could not read.")
        return data


def sign(raw_body: bytes, secret_key: str) -> str:
    """Paystack's webhook signature: hex HMAC-SHA512 of the raw body, keyed with the
    secret key."""
    return hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()
