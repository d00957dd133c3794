"""A fake Stripe API for tests: a real HTTP server speaking Stripe's wire format, so the
official `stripe` SDK runs unmodified against it (`STRIPE_API_BASE`).

What it speaks:
- requests form-encoded with bracketed nesting (`metadata[reference]=...`,
  `expand[0]=latest_charge`), `Authorization: Bearer <secret key>` required;
- `Idempotency-Key` honoured: the same key with the same parameters replays the first
  response (`Idempotent-Replayed: true`); with other parameters it is an
  `idempotency_error`;
- errors as `{"error": {"type", "code", "message", "param"}}` with Stripe's statuses;
- endpoints: create/retrieve/search PaymentIntents, create/retrieve Refunds.

Tests drive the rest the way the real world would: `succeed`, `fail`, `open_dispute`,
`close_dispute` change state and record the events Stripe would send; `signed()` signs an
event with the SDK's own scheme and `deliver()` POSTs it to a webhook URL.
"""

from __future__ import annotations

import copy
import itertools
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.fakes.server import BackgroundServer

SECRET_KEY = "sk_test_fake_stripe_0123456789abcdef"
WEBHOOK_SECRET = "whsec_fake_stripe_0123456789abcdef"
API_VERSION = "2025-06-30.basil"
MINIMUM_CHARGE = {"usd": 50, "eur": 50, "gbp": 30, "cad": 50, "aud": 50, "jpy": 50}


class StripeApiError(Exception):
    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = {"error": {"type": type_, "message": message, "code": code, "param": param}}


@dataclass
class RecordedRequest:
    method: str
    path: str
    params: dict[str, Any]
    idempotency_key: str | None


@dataclass
class FakeStripeState:
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    charges: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    disputes: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    requests: list[RecordedRequest] = field(default_factory=list)
    idempotency: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    failures: list[int] = field(default_factory=list)  # statuses to answer the next requests with


class FakeStripe:
    secret_key = SECRET_KEY
    webhook_secret = WEBHOOK_SECRET

    def __init__(self) -> None:
        self.state = FakeStripeState()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = BackgroundServer(self._app())
        self.url = self._server.url

    # ---- lifecycle

    def start(self) -> FakeStripe:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def reset(self) -> None:
        with self._lock:
            self.state = FakeStripeState()

    def settings(self) -> dict[str, Any]:
        """Settings overrides pointing the app at this fake."""
        return {
            "stripe_secret_key": self.secret_key,
            "stripe_webhook_secret": self.webhook_secret,
            "stripe_api_base": self.url,
        }

    # ---- what tests inspect and drive

    @property
    def intents(self) -> dict[str, dict[str, Any]]:
        return self.state.intents

    @property
    def requests(self) -> list[RecordedRequest]:
        return self.state.requests

    def fail_next(self, count: int = 1, status: int = 500) -> None:
        with self._lock:
            self.state.failures.extend([status] * count)

    def succeed(self, intent_id: str) -> dict[str, Any]:
        """The buyer paid: the intent succeeds, a charge exists, Stripe sends
        `payment_intent.succeeded` (returned)."""
        with self._lock:
            intent = self._intent(intent_id)
            charge = {
                "id": self._id("ch"),
                "object": "charge",
                "amount": intent["amount"],
                "amount_captured": intent["amount"],
                "amount_refunded": 0,
                "currency": intent["currency"],
                "created": int(time.time()),
                "disputed": False,
                "livemode": False,
                "metadata": dict(intent["metadata"]),
                "paid": True,
                "payment_intent": intent_id,
                "refunded": False,
                "status": "succeeded",
            }
            self.state.charges[charge["id"]] = charge
            intent.update(
                status="succeeded",
                amount_received=intent["amount"],
                latest_charge=charge["id"],
                last_payment_error=None,
            )
            self._emit("charge.succeeded", charge)
            return self._emit("payment_intent.succeeded", intent)

    def fail(self, intent_id: str, message: str = "Your card was declined.") -> dict[str, Any]:
        with self._lock:
            intent = self._intent(intent_id)
            intent.update(
                status="requires_payment_method",
                last_payment_error={
                    "type": "card_error",
                    "code": "card_declined",
                    "message": message,
                },
            )
            return self._emit("payment_intent.payment_failed", intent)

    def refund(self, intent_id: str, amount: int | None = None) -> dict[str, Any]:
        """A refund made outside our API (the Stripe dashboard); returns `charge.refunded`."""
        with self._lock:
            self._create_refund(
                {"payment_intent": intent_id, **({"amount": str(amount)} if amount else {})}
            )
            return self._last("charge.refunded")

    def open_dispute(self, intent_id: str, reason: str = "fraudulent") -> dict[str, Any]:
        with self._lock:
            intent = self._intent(intent_id)
            charge = self.state.charges[intent["latest_charge"]]
            charge["disputed"] = True
            dispute = {
                "id": self._id("dp"),
                "object": "dispute",
                "amount": charge["amount"] - charge["amount_refunded"],
                "charge": charge["id"],
                "currency": charge["currency"],
                "created": int(time.time()),
                "livemode": False,
                "metadata": {},
                "payment_intent": intent_id,
                "reason": reason,
                "status": "needs_response",
            }
            self.state.disputes[dispute["id"]] = dispute
            return self._emit("charge.dispute.created", dispute)

    def close_dispute(self, dispute_id: str, status: str) -> dict[str, Any]:
        with self._lock:
            dispute = self.state.disputes[dispute_id]
            previous = {"status": dispute["status"]}
            dispute["status"] = status
            return self._emit("charge.dispute.closed", dispute, previous)

    def events_of(self, event_type: str) -> list[dict[str, Any]]:
        return [e for e in self.state.events if e["type"] == event_type]

    def event(self, event_type: str, data_object: dict[str, Any]) -> dict[str, Any]:
        """An arbitrary event, shaped like Stripe's (for tests of unusual payloads)."""
        with self._lock:
            return self._emit(event_type, data_object)

    def signed(
        self,
        event: dict[str, Any] | bytes,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[bytes, dict[str, str]]:
        """The body and headers Stripe would send, signed with the SDK's own helper."""
        body = event if isinstance(event, bytes) else json.dumps(event, indent=2).encode()
        header = stripe.WebhookSignature.generate_signature_header(
            body.decode(), secret or self.webhook_secret, timestamp=timestamp
        )
        return body, {"Stripe-Signature": header, "Content-Type": "application/json; charset=utf-8"}

    async def deliver(self, url: str, event: dict[str, Any] | bytes, **sign: Any) -> httpx.Response:
        body, headers = self.signed(event, **sign)
        async with httpx.AsyncClient(timeout=30) as client:
            return await client.post(url, content=body, headers=headers)

    # ---- HTTP

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/payment_intents", self._endpoint(self._create_intent), methods=["POST"]),
                Route("/v1/payment_intents/search", self._endpoint(self._search), methods=["GET"]),
                Route(
                    "/v1/payment_intents/{id}", self._endpoint(self._get_intent), methods=["GET"]
                ),
                Route("/v1/refunds", self._endpoint(self._create_refund), methods=["POST"]),
                Route("/v1/refunds/{id}", self._endpoint(self._get_refund), methods=["GET"]),
            ]
        )

    def _endpoint(self, action: Any) -> Any:
        async def handle(request: Request) -> JSONResponse:
            raw = (await request.body()).decode() if request.method == "POST" else request.url.query
            params = decode_form(raw)
            key = request.headers.get("idempotency-key")
            headers = {"Request-Id": f"req_{secrets.token_hex(7)}", "Stripe-Version": API_VERSION}
            if key:
                headers["Idempotency-Key"] = key
            with self._lock:
                self.state.requests.append(
                    RecordedRequest(request.method, request.url.path, params, key)
                )
                status, body = self._answer(request, action, params, key, headers)
            return JSONResponse(body, status_code=status, headers=headers)

        return handle

    def _answer(
        self,
        request: Request,
        action: Any,
        params: dict[str, Any],
        key: str | None,
        headers: dict[str, str],
    ) -> tuple[int, dict[str, Any]]:
        if request.headers.get("authorization") != f"Bearer {self.secret_key}":
            error = StripeApiError(
                401,
                "invalid_request_error",
                "Invalid API Key provided: sk_test_****",
                code="api_key_invalid",
            )
            return error.status, error.body
        if self.state.failures:
            status = self.state.failures.pop(0)
            return status, {"error": {"type": "api_error", "message": "An unknown error occurred."}}
        fingerprint = json.dumps([request.url.path, params], sort_keys=True)
        if key and request.method == "POST" and key in self.state.idempotency:
            seen, status, body = self.state.idempotency[key]
            if seen != fingerprint:
                error = StripeApiError(
                    400,
                    "idempotency_error",
                    "Keys for idempotent requests can only be used with the same parameters "
                    "they were first used with.",
                )
                return error.status, error.body
            headers["Idempotent-Replayed"] = "true"
            return status, copy.deepcopy(body)
        try:
            status, body = 200, action(params, **request.path_params)
        except StripeApiError as exc:
            status, body = exc.status, exc.body
        if key and request.method == "POST":
            self.state.idempotency[key] = (fingerprint, status, copy.deepcopy(body))
        return status, copy.deepcopy(body)

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        amount, currency = _int(params.get("amount"), "amount"), params.get("currency")
        if not isinstance(currency, str) or len(currency) != 3:
            raise StripeApiError(
                400, "invalid_request_error", "Missing required param: currency.", param="currency"
            )
        if amount < MINIMUM_CHARGE.get(currency, 1):
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"Amount must be at least {MINIMUM_CHARGE[currency]} {currency}",
                code="amount_too_small",
                param="amount",
            )
        intent_id = self._id("pi")
        intent = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_capturable": 0,
            "amount_received": 0,
            "automatic_payment_methods": params.get("automatic_payment_methods"),
            "canceled_at": None,
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(12)}",
            "created": int(time.time()),
            "currency": currency,
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata") or {},
            "receipt_email": params.get("receipt_email"),
            "status": "requires_payment_method",
        }
        self.state.intents[intent_id] = intent
        self._emit("payment_intent.created", intent)
        return intent

    def _get_intent(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        intent = copy.deepcopy(self._intent(id))
        if "latest_charge" in (params.get("expand") or []) and intent["latest_charge"]:
            intent["latest_charge"] = self.state.charges[intent["latest_charge"]]
        return intent

    def _search(self, params: dict[str, Any]) -> dict[str, Any]:
        query = str(params.get("query", ""))
        prefix = "metadata['reference']:'"
        if not query.startswith(prefix) or not query.endswith("'"):
            raise StripeApiError(400, "invalid_request_error", f"Unsupported search query: {query}")
        wanted = query[len(prefix) : -1].replace("\\'", "'").replace("\\\\", "\\")
        expand = "data.latest_charge" in (params.get("expand") or [])
        found = [
            self._get_intent({"expand": ["latest_charge"]} if expand else {}, id=i["id"])
            for i in self.state.intents.values()
            if i["metadata"].get("reference") == wanted
        ]
        return {
            "object": "search_result",
            "data": found[: int(params.get("limit", 10))],
            "has_more": False,
            "next_page": None,
            "url": "/v1/payment_intents/search",
        }

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent = self._intent(str(params.get("payment_intent")), param="payment_intent")
        if intent["status"] != "succeeded":
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                param="payment_intent",
            )
        charge = self.state.charges[intent["latest_charge"]]
        remaining = charge["amount"] - charge["amount_refunded"]
        amount = _int(params["amount"], "amount") if "amount" in params else remaining
        if remaining == 0:
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"Charge {charge['id']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount > remaining:
            raise StripeApiError(
                400,
                "invalid_request_error",
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                param="amount",
            )
        refund = {
            "id": self._id("re"),
            "object": "refund",
            "amount": amount,
            "charge": charge["id"],
            "created": int(time.time()),
            "currency": charge["currency"],
            "metadata": params.get("metadata") or {},
            "payment_intent": intent["id"],
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.state.refunds[refund["id"]] = refund
        previous = {"amount_refunded": charge["amount_refunded"], "refunded": charge["refunded"]}
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self._emit("refund.created", refund)
        self._emit("charge.refunded", charge, previous)
        return refund

    def _get_refund(self, params: dict[str, Any], id: str) -> dict[str, Any]:
        if id not in self.state.refunds:
            raise StripeApiError(
                404, "invalid_request_error", f"No such refund: '{id}'", code="resource_missing"
            )
        return self.state.refunds[id]

    # ---- helpers (called with the lock held)

    def _intent(self, intent_id: str, *, param: str = "intent") -> dict[str, Any]:
        if intent_id not in self.state.intents:
            raise StripeApiError(
                404,
                "invalid_request_error",
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
                param=param,
            )
        return self.state.intents[intent_id]

    def _emit(
        self, event_type: str, obj: dict[str, Any], previous: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        data: dict[str, Any] = {"object": copy.deepcopy(obj)}
        if previous is not None:
            data["previous_attributes"] = previous
        event = {
            "id": self._id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        self.state.events.append(event)
        return event

    def _last(self, event_type: str) -> dict[str, Any]:
        return [e for e in self.state.events if e["type"] == event_type][-1]

    def _id(self, prefix: str) -> str:
        return f"{prefix}_fake{next(self._ids):06d}{secrets.token_hex(6)}"


def decode_form(raw: str) -> dict[str, Any]:
    """Stripe's form encoding back into nested data: `a[b]=1` is `{"a": {"b": "1"}}`,
    `a[0]=x` is `{"a": ["x"]}`."""
    result: dict[str, Any] = {}
    for key, value in parse_qsl(raw, keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        target: Any = result
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            following = None if last else parts[index + 1]
            container: Any = [] if following is not None and following.isdigit() else {}
            if isinstance(target, list):
                position = int(part)
                while len(target) <= position:
                    target.append(None)
                if last:
                    target[position] = value
                else:
                    target[position] = (
                        target[position] if target[position] is not None else container
                    )
                    target = target[position]
            elif last:
                target[part] = value
            else:
                target = target.setdefault(part, container)
    return result


def _int(value: Any, param: str) -> int:
    if isinstance(value, str) and value.isdigit():
        return int(value)
    raise StripeApiError(400, "invalid_request_error", f"Invalid integer: {value}", param=param)
