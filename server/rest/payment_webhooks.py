"""The payment webhook shim: `POST /webhooks/stripe`, `/webhooks/paystack`, `/webhooks/test`,
and the TEST provider's `POST /payments/test/{reference}/succeed|fail`.

Every delivery is verified on the exact bytes received before anything is stored:

- 400 `{"error": {...}}`: bad signature, malformed body; nothing stored, nothing changed.
- 200 `{"received": true, "duplicate": ..., "outcome": ...}`: stored and applied now, or
  a duplicate of an event already stored (acknowledged, ignored). A handler's domain
  error is an outcome (`rejected`), still 200, so the provider stops retrying.
- 500: anything unexpected; the transaction rolled back, so the provider's retry starts
  from scratch.
- 503: the provider is not configured here (the provider retries until it is); 404 for
  the TEST routes while TEST_PAYMENTS is off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping

import orjson
import structlog
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from server import unavailable
from server.app_state import AppState
from server.clock import utcnow
from server.errors import DomainError
from server.numbers import whole_number
from server.payments import test_provider
from server.payments.base import PaymentProvider, ProviderName
from server.payments.errors import ProviderNotConfigured, WebhookRejected
from server.payments.registry import get_provider
from server.payments.service import Receipt, record_event

log = structlog.get_logger("eventapi.payments.webhooks")


def routes() -> list[BaseRoute]:
    return [
        Route("/webhooks/stripe", stripe_webhook, methods=["POST"]),
        Route("/webhooks/paystack", paystack_webhook, methods=["POST"]),
        Route("/webhooks/test", test_webhook, methods=["POST"]),
        Route("/payments/test/{reference}/succeed", succeed_test_payment, methods=["POST"]),
        Route("/payments/test/{reference}/fail", fail_test_payment, methods=["POST"]),
    ]


async def stripe_webhook(request: Request) -> JSONResponse:
    return await _receive(request, ProviderName.STRIPE)


async def paystack_webhook(request: Request) -> JSONResponse:
    return await _receive(request, ProviderName.PAYSTACK)


async def test_webhook(request: Request) -> JSONResponse:
    return await _receive(request, ProviderName.TEST)


async def succeed_test_payment(request: Request) -> JSONResponse:
    return await _complete_test_payment(request, succeeded=True)


async def fail_test_payment(request: Request) -> JSONResponse:
    return await _complete_test_payment(request, succeeded=False)


async def _receive(request: Request, name: ProviderName) -> JSONResponse:
    state: AppState = request.app.state.eventapi
    body = await _read_body(request, state.settings.max_body_size)
    if body is None:
        return _error(413, "TOO_LARGE", "The webhook body is too large.")
    try:
        provider = get_provider(name, state.settings)
    except ProviderNotConfigured as exc:
        return _not_configured(name, exc)
    return await _ingest(request, state, provider, body, request.headers)


async def _complete_test_payment(request: Request, *, succeeded: bool) -> JSONResponse:
    """The TEST buyer's "pay" button: a signed TEST event through the webhook pipeline."""
    state: AppState = request.app.state.eventapi
    try:
        provider = get_provider(ProviderName.TEST, state.settings)
    except ProviderNotConfigured as exc:
        return _not_configured(ProviderName.TEST, exc)
    assert isinstance(provider, test_provider.TestProvider)
    body = await _read_body(request, state.settings.max_body_size)
    if body is None:
        return _error(413, "TOO_LARGE", "The request body is too large.")
    try:
        secret = orjson.loads(body).get("clientSecret")
    except (ValueError, AttributeError):
        return _error(400, "MALFORMED_REQUEST", 'Send a JSON object: {"clientSecret": "..."}.')
    if not isinstance(secret, str) or not secret:
        return _error(400, "VALIDATION", "clientSecret is required.")
    try:
        intent = provider.decode_client_secret(secret)
    except DomainError as exc:
        return _error(400, exc.code.value, exc.message)
    if intent.reference != request.path_params["reference"]:
        return _error(400, "VALIDATION", "The client secret belongs to another payment.")
    event = test_provider.completion_event(intent, succeeded=succeeded)
    raw = json.dumps(event).encode()
    headers = {
        test_provider.SIGNATURE_HEADER: test_provider.sign_payload(
            raw, test_provider.signing_key(state.settings)
        )
    }
    return await _ingest(request, state, provider, raw, headers)


async def _ingest(
    request: Request,
    state: AppState,
    provider: PaymentProvider,
    body: bytes,
    headers: Mapping[str, str],
) -> JSONResponse:
    try:
        event = provider.parse_webhook(body, headers)
        async with state.db.transaction() as session:
            receipt = await record_event(session, event=event, now=utcnow())
    except WebhookRejected as exc:
        log.info("payment webhook rejected", provider=provider.name.value, reason=exc.message)
        return _error(400, exc.code, exc.message)
    except ProviderNotConfigured as exc:
        return _not_configured(provider.name, exc)
    except Exception as exc:
        request_id = getattr(request.state, "request_id", None)
        if unavailable.caused_by_outage(exc):
            # Rolled back whole, the event unrecorded: the provider's redelivery applies it.
            unavailable.refused("/webhooks", exc)
            return unavailable.rest_response(request_id)
        log.exception("payment webhook failed", provider=provider.name.value)
        return _error(500, "INTERNAL", "The event could not be processed.", requestId=request_id)
    log.info(
        "payment webhook",
        provider=provider.name.value,
        event_id=receipt.event_id,
        kind=event.kind.value,
        duplicate=receipt.duplicate,
        outcome=receipt.outcome.value if receipt.outcome else None,
    )
    return JSONResponse(_receipt_body(receipt))


def _receipt_body(receipt: Receipt) -> dict[str, object]:
    body: dict[str, object] = {
        "received": True,
        "eventId": receipt.event_id,
        "duplicate": receipt.duplicate,
        "outcome": receipt.outcome.value if receipt.outcome else None,
    }
    if receipt.error_code is not None:
        body["error"] = {"code": receipt.error_code, "message": receipt.error_message}
    return body


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The raw body, or None past `limit` bytes (checked while reading, not after)."""
    declared = whole_number(request.headers.get("content-length"))
    if declared is not None and declared > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _not_configured(name: ProviderName, exc: ProviderNotConfigured) -> JSONResponse:
    if name is ProviderName.TEST:
        return _error(404, "NOT_FOUND", exc.message)
    return _error(503, "NOT_CONFIGURED", exc.message)


def _error(status: int, code: str, message: str, **extra: object) -> JSONResponse:
    detail: dict[str, object] = {"code": code, "message": message}
    detail.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse({"error": detail}, status_code=status)
