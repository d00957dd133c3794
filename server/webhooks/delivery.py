"""Attempting deliveries: one endpoint at a time, oldest event first.

A worker attempts the endpoint's head delivery (the pending one with the lowest event
sequence) while holding that row's lock, inside one transaction that also records the
outcome. So:
  - two workers never send the same delivery at once, nor the next one before the head
    is settled (the second finds the head locked and leaves);
  - a worker that dies mid-attempt leaves the row `pending` and unlocked, and the next
    run attempts it again: the receiver may see an event twice (it dedupes by
    `X-Webhook-Id`), but the delivery is recorded once;
  - a later event waits while an earlier one to the same endpoint waits for a retry.
    That is the price of ordering: one failing event delays the endpoint's later events
    until it is delivered or dead-lettered (then the rest go on)."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

import httpx
import orjson
from cryptography.fernet import InvalidToken
from sqlalchemy import select

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.ids import new_id
from server.jobs import metrics
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.secret_store import decrypt_secret
from server.webhooks.signing import SIGNATURE_HEADER, signature_header
from server.webhooks.urls import UrlRefused, delivery_target

SNIPPET_CHARS = 500
MAX_RESPONSE_BYTES = 64 * 1024  # read at most this much of a response, then hang up
DUE_TOLERANCE = timedelta(milliseconds=100)


@dataclass(frozen=True)
class AttemptOutcome:
    status: int | None
    error: str | None
    snippet: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class Step:
    """What one call of `attempt_head` did: nothing to do (or another worker is on it),
    found the head waiting for its retry time, or made an attempt."""

    kind: Literal["idle", "waiting", "attempted"]
    retry_at: datetime | None = None
    delivered: bool = False


def retry_delay(attempts: int, *, base: float, cap: float) -> float:
    """Exponential backoff with full jitter: anywhere up to base * 2^(attempts-1), capped."""
    return random.uniform(0, min(cap, base * 2 ** (attempts - 1)))


def attempt_timeout(settings: Settings) -> float:
    """An attempt must end well inside the job's own timeout."""
    return min(settings.webhook_timeout, settings.job_timeout / 2)


async def _read_snippet(response: httpx.Response) -> str:
    received = bytearray()
    async for chunk in response.aiter_bytes():
        received += chunk
        if len(received) >= MAX_RESPONSE_BYTES:
            break
    return received[: SNIPPET_CHARS * 4].decode("utf-8", "replace")[:SNIPPET_CHARS]


async def post_event(
    http: httpx.AsyncClient,
    *,
    url: str,
    body: bytes,
    headers: dict[str, str],
    allow_private: bool,
    time_limit: float,
) -> AttemptOutcome:
    """POST `body` to `url`; never raises for anything the receiver or network does."""
    started = time.perf_counter()
    status: int | None = None
    snippet: str | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(time_limit):
            target = await delivery_target(url, allow_private=allow_private)
            sent = dict(headers)
            if target.host_header is not None:
                sent["host"] = target.host_header
            request = http.build_request(
                "POST",
                target.url,
                content=body,
                headers=sent,
                timeout=time_limit,
                extensions={"sni_hostname": target.sni_hostname} if target.sni_hostname else None,
            )
            response = await http.send(request, stream=True)
            try:
                status = response.status_code
                snippet = await _read_snippet(response)
            finally:
                await response.aclose()
        if not 200 <= status < 300:
            error = f"HTTP {status}"
    except UrlRefused as refused:
        error = f"refused: {refused.reason}"
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {time_limit:g}s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration = time.perf_counter() - started
    metrics.webhook_attempt_duration.observe(duration)
    return AttemptOutcome(status, error, snippet, round(duration * 1000))


def _headers(delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Delivery": str(delivery.id),
    }


async def attempt_head(
    db: Database, http: httpx.AsyncClient, settings: Settings, endpoint_id: uuid.UUID
) -> Step:
    """Attempt the endpoint's head delivery if it is due and no other worker holds it."""
    async with db.transaction() as session:
        head = (
            select(WebhookDelivery.id)
            .where(WebhookDelivery.endpoint_id == endpoint_id, WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.event_sequence, WebhookDelivery.id)
            .limit(1)
            .scalar_subquery()
        )
        delivery = await session.scalar(
            select(WebhookDelivery)
            .where(WebhookDelivery.id == head, WebhookDelivery.status == "pending")
            .with_for_update(skip_locked=True)
        )
        if delivery is None:
            return Step("idle")
        now = utcnow()
        if delivery.next_attempt_at is not None and delivery.next_attempt_at > now + DUE_TOLERANCE:
            return Step("waiting", retry_at=delivery.next_attempt_at)
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None  # the delivery row references it
        body = orjson.dumps(delivery.payload)
        try:
            secret = decrypt_secret(endpoint.secret_encrypted, jwt_key=settings.jwt_key)
        except InvalidToken:
            outcome = AttemptOutcome(
                None, "the signing secret cannot be read (was JWT_SECRET changed?)", None, 0
            )
        else:
            outcome = await post_event(
                http,
                url=endpoint.url,
                body=body,
                headers=_headers(delivery, secret, body, int(time.time())),
                allow_private=settings.webhook_allow_private_urls,
                time_limit=attempt_timeout(settings),
            )
        _record(delivery, outcome, settings=settings, started_at=now)
        session.add(
            WebhookAttempt(
                id=new_id(),
                delivery_id=delivery.id,
                number=delivery.attempts,
                started_at=now,
                duration_ms=outcome.duration_ms,
                response_status=outcome.status,
                error=outcome.error,
                response_snippet=outcome.snippet,
            )
        )
        retry_at = delivery.next_attempt_at if delivery.status == "pending" else None
        delivered = delivery.status == "delivered"
    return Step("attempted", retry_at=retry_at, delivered=delivered)


def _record(
    delivery: WebhookDelivery, outcome: AttemptOutcome, *, settings: Settings, started_at: datetime
) -> None:
    delivery.attempts += 1
    delivery.last_attempt_at = started_at
    delivery.response_status = outcome.status
    if outcome.ok:
        delivery.status = "delivered"
        delivery.delivered_at = utcnow()
        delivery.next_attempt_at = None
        delivery.last_error = None
        metrics.webhook_attempts.labels("delivered").inc()
    elif delivery.attempts >= settings.webhook_max_attempts:
        delivery.status = "failed"
        delivery.next_attempt_at = None
        delivery.last_error = outcome.error
        metrics.webhook_attempts.labels("dead_lettered").inc()
    else:
        delay = retry_delay(
            delivery.attempts, base=settings.webhook_retry_base, cap=settings.webhook_retry_max
        )
        delivery.next_attempt_at = utcnow() + timedelta(seconds=delay)
        delivery.last_error = outcome.error
        metrics.webhook_attempts.labels("retry").inc()
