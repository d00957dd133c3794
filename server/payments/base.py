"""The payment provider interface and the plain data it speaks.

Commerce talks to every provider (Stripe, Paystack, the offline TEST provider) through
`PaymentProvider`, never through a provider's SDK or HTTP API directly:

- `create_intent` asks the provider to start collecting money for one of our payment
  references (a Stripe PaymentIntent, a Paystack transaction). Money is always integer
  minor units plus an upper-case ISO currency.
- `retrieve` asks the provider for the current state of a payment (reconciliation).
- `refund` gives money back, fully or partly.
- `parse_webhook` verifies a webhook's signature over the raw body and normalizes the
  provider's event into a `ProviderEvent`; the webhook shim stores and applies it.
- `processing_fee` is the provider's published fee for an amount, for order fees.

Methods that talk to the provider are coroutines and never block the event loop. Every
failure reaches the caller as a `server.payments.errors` domain error with a message a
buyer or organizer can read; provider SDK exceptions never escape.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from server.json_limits import MAX_JSON_DEPTH, too_deep
from server.money import MAX_MINOR, normalize_currency
from server.payments.errors import InvalidPaymentRequest, InvalidSignature, MalformedWebhook


class ProviderName(StrEnum):
    """Matches the GraphQL `PaymentProvider` enum."""

    STRIPE = "STRIPE"
    PAYSTACK = "PAYSTACK"
    TEST = "TEST"


class PaymentStatus(StrEnum):
    PENDING = "pending"  # created, waiting for the buyer or the provider
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class RefundStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


class EventKind(StrEnum):
    PAYMENT_SUCCEEDED = "payment_succeeded"
    PAYMENT_FAILED = "payment_failed"
    REFUNDED = "refunded"
    DISPUTE_OPENED = "dispute_opened"
    DISPUTE_CLOSED = "dispute_closed"
    OTHER = "other"  # stored for the record, applied by nobody


class DisputeOutcome(StrEnum):
    WON = "won"  # the money stays with us
    LOST = "lost"  # the money went back to the card holder


@dataclass(frozen=True)
class PaymentIntent:
    """What the buyer needs to pay: a `client_secret` (Stripe, TEST) for a client-side
    confirmation, or an `authorization_url` (Paystack) to redirect to."""

    provider: ProviderName
    provider_ref: str  # Stripe PaymentIntent id, Paystack reference, TEST intent id
    status: PaymentStatus
    amount_minor: int
    currency: str
    client_secret: str | None = None
    authorization_url: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class PaymentState:
    """The provider's view of one payment, for reconciliation. `amount_minor` and
    `currency` are None when the provider does not know them (TEST)."""

    provider: ProviderName
    provider_ref: str
    reference: str | None
    status: PaymentStatus
    amount_minor: int | None
    currency: str | None
    amount_refunded_minor: int = 0
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class Refund:
    provider: ProviderName
    provider_ref: str  # the provider's refund id
    payment_ref: str  # the payment it refunds (PaymentIntent.provider_ref)
    status: RefundStatus
    amount_minor: int
    currency: str
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class ProviderEvent:
    """One verified provider webhook, normalized.

    - `event_id` is unique per provider and is what deduplication keys on.
    - `reference` is our payment reference when the event carries it (payment events
      always do; Stripe refunds and disputes may not), `provider_ref` the provider's
      payment id (`PaymentIntent.provider_ref`): look the payment up by either.
    - `amount_minor`/`currency`: the payment amount for payment events, the amount this
      event refunds for `refunded`, the disputed amount for disputes. Handlers compare
      them with the order before confirming anything.
    - `refunded_total_minor`: for `refunded`, the total refunded on the payment so far when
      the provider reports it (Stripe); None otherwise (Paystack reports one refund).
    - `refund_ref`: for `refunded`, the provider's refund id when the event carries it.
    - `dispute_outcome`: for `dispute_closed`.
    """

    provider: ProviderName
    event_id: str
    event_type: str  # the provider's own name, e.g. "payment_intent.succeeded"
    kind: EventKind
    reference: str | None
    provider_ref: str | None
    amount_minor: int | None
    currency: str | None
    refunded_total_minor: int | None = None
    refund_ref: str | None = None
    dispute_outcome: DisputeOutcome | None = None
    failure_message: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


class PaymentProvider(ABC):
    """One payment provider. Instances are cheap, hold no connections and are safe to
    share: each call opens (and closes) its own HTTP client."""

    name: ProviderName
    # True for a provider that makes no network calls (TEST): callers may then create its
    # intent inside their database transaction instead of between two transactions.
    local: bool = False
    # True when a retry with the same idempotency key returns the first call's intent
    # (Stripe, TEST). Paystack has no such key and refuses a reference it has seen: a retry
    # after a failed or lost answer must use a new reference.
    keyed_retries: bool = True

    @abstractmethod
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
        """Start collecting `amount_minor` for our payment `reference`. With the same
        `idempotency_key` and the same arguments, a retry returns the same intent."""

    @abstractmethod
    async def retrieve(
        self, *, provider_ref: str | None = None, reference: str | None = None
    ) -> PaymentState:
        """The provider's current state of a payment, by its id or by our reference."""

    @abstractmethod
    async def refund(
        self,
        *,
        provider_ref: str,
        amount_minor: int,
        currency: str,
        idempotency_key: str | None,
        reason: str | None = None,
    ) -> Refund:
        """Refund `amount_minor` of a payment (the whole amount or a part of it; callers
        know what is still refundable). With the same `idempotency_key`, a retry returns
        the same refund where the provider supports keys (Stripe, TEST)."""

    @abstractmethod
    def parse_webhook(self, raw_body: bytes, headers: Mapping[str, str]) -> ProviderEvent:
        """Verify the signature over the exact bytes received and normalize the event.
        Raises `InvalidSignature` or `MalformedWebhook`; never touches the database."""

    @abstractmethod
    def processing_fee(self, amount_minor: int, currency: str) -> int:
        """The provider's fee for collecting `amount_minor`, in the same minor units."""


def check_amount(amount_minor: int, currency: str, *, field_name: str = "amount") -> str:
    """Validate an amount and currency before anything is sent to a provider; returns
    the normalized currency."""
    normalized = normalize_currency(currency)
    if isinstance(amount_minor, bool) or not isinstance(amount_minor, int):
        raise InvalidPaymentRequest("The amount must be a whole number of minor units.")
    if amount_minor <= 0:
        raise InvalidPaymentRequest("The amount must be positive.", field=field_name)
    if amount_minor > MAX_MINOR:
        raise InvalidPaymentRequest("The amount is too large.", field=field_name)
    return normalized


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text} is out of range")
    return value


def load_webhook_json(raw_body: bytes) -> Any:
    """A verified webhook body as JSON; whatever it holds is the normalizer's to check.
    Nesting deep enough to exhaust the parser's recursion is as malformed as bad syntax,
    and so are NaN, Infinity and numbers like 1e999: the event is stored as JSONB, which
    has no such values. Nesting past MAX_JSON_DEPTH is refused too, so that nothing
    downstream (storing, normalizing) recurses that deep."""
    try:
        value = json.loads(raw_body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except UnicodeDecodeError:
        raise MalformedWebhook("The webhook body is not UTF-8 text.") from None
    except (ValueError, RecursionError):
        raise MalformedWebhook("The webhook body is not a JSON object.") from None
    if too_deep(value):
        raise MalformedWebhook(f"The webhook body nests deeper than {MAX_JSON_DEPTH} levels.")
    return value


def check_signed_at(timestamp: int, provider: str, tolerance: int) -> None:
    """A signature's timestamp within `tolerance` seconds of now, either way: an old one
    is a replay, and one from the future would stay replayable until that time comes."""
    now = time.time()
    if timestamp < now - tolerance:
        raise InvalidSignature(f"The {provider} signature is too old.")
    if timestamp > now + tolerance:
        raise InvalidSignature(f"The {provider} signature is dated in the future.")


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by case-insensitive name, from Starlette headers or a plain dict."""
    value = headers.get(name)
    if value is not None:
        return value
    lowered = name.lower()
    for key, candidate in headers.items():
        if key.lower() == lowered:
            return candidate
    return None
