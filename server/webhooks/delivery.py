"""Attempting deliveries: one endpoint at a time, oldest event first.

A worker delivers an endpoint's pending deliveries inside one transaction that holds the
endpoint's advisory lock and the rows' locks, and records the outcomes in it. So:
  - two workers never deliver to the same endpoint at once (the second finds the lock
    taken and leaves), so nothing overtakes;
  - a worker that dies mid-batch leaves its rows `pending` and unlocked, and the next run
    attempts them again: the receiver may see an event twice (it dedupes by
    `X-Webhook-Id`), but each delivery is recorded once;
  - a failed attempt ends the batch: the later events wait while the earlier one waits for
    its retry. That is the price of ordering: one failing event delays the endpoint's
    later events until it is delivered or dead-lettered (then the rest go on).
Batches are short (a few dozen deliveries or about a second), so locks are held briefly
and a crash repeats little."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
import orjson
from cryptography.fernet import InvalidToken
from sqlalchemy import func, insert, select, update

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.ids import new_id
from server.jobs import metrics
from server.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from server.webhooks.secret_store import decrypt_secret
from server.webhooks.signing import SIGNATURE_HEADER, signature_header
from server.webhooks.urls import Target, UrlRefused, delivery_target

MAX_BATCH = 50  # deliveries attempted in one transaction
BATCH_SECONDS = 1.0  # ... or for about this long
UNREADABLE_KEY = "the signing secret cannot be read (was JWT_SECRET changed?)"
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
    """What one call of `attempt_batch` did: nothing to do (or another worker holds the
    endpoint), found the head waiting for its retry time, or made `attempts` attempts
    (`retry_at` set when the last one failed and will be retried)."""

    kind: Literal["idle", "waiting", "attempted"]
    attempts: int = 0
    retry_at: datetime | None = None


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
    target: Target,
    body: bytes,
    headers: dict[str, str],
    time_limit: float,
) -> AttemptOutcome:
    """POST `body` to `target`; never raises for anything the receiver or network does."""
    started = time.perf_counter()
    status: int | None = None
    snippet: str | None = None
    error: str | None = None
    sent = dict(headers)
    if target.host_header is not None:
        sent["host"] = target.host_header
    try:
        async with asyncio.timeout(time_limit):
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
    except (TimeoutError, httpx.TimeoutException):
        error = f"timed out after {time_limit:g}s"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    duration = time.perf_counter() - started
    metrics.webhook_attempt_duration.observe(duration)
    return AttemptOutcome(status, error, snippet, round(duration * 1000))


async def resolve_target(url: str, settings: Settings) -> Target | str:
    """Where this batch's attempts connect (checked once per batch; every attempt of the
    batch then goes to that checked address), or why the URL is refused."""
    try:
        return await asyncio.wait_for(
            delivery_target(url, allow_private=settings.webhook_allow_private_urls),
            attempt_timeout(settings),
        )
    except UrlRefused as refused:
        return f"refused: {refused.reason}"
    except TimeoutError:
        return "timed out resolving the host name"


def _headers(delivery: WebhookDelivery, secret: str, body: bytes, timestamp: int) -> dict[str, str]:
    return {
        "content-type": "application/json",
        SIGNATURE_HEADER: signature_header(secret, timestamp, body),
        "X-Webhook-Id": str(delivery.event_id),
        "X-Webhook-Event": delivery.event_type,
        "X-Webhook-Delivery": str(delivery.id),
    }


def endpoint_lock_key(endpoint_id: uuid.UUID) -> int:
    """The advisory lock key of an endpoint (64 bits of its id)."""
    return int.from_bytes(endpoint_id.bytes[8:], "big", signed=True)


async def attempt_batch(
    db: Database,
    http: httpx.AsyncClient,
    settings: Settings,
    endpoint_id: uuid.UUID,
    *,
    max_batch: int = MAX_BATCH,
    max_seconds: float = BATCH_SECONDS,
) -> Step:
    """Deliver the endpoint's due deliveries in order, until one fails, `max_batch` were
    attempted or `max_seconds` passed, unless another worker holds the endpoint."""
    async with db.transaction() as session:
        locked = await session.scalar(
            select(func.pg_try_advisory_xact_lock(endpoint_lock_key(endpoint_id)))
        )
        if not locked:
            return Step("idle")
        batch = list(
            await session.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.endpoint_id == endpoint_id,
                    WebhookDelivery.status == "pending",
                )
                .order_by(WebhookDelivery.event_sequence, WebhookDelivery.id)
                .limit(max_batch)
                .with_for_update()
            )
        )
        if not batch:
            return Step("idle")
        head_due = batch[0].next_attempt_at
        if head_due is not None and head_due > utcnow() + DUE_TOLERANCE:
            return Step("waiting", retry_at=head_due)
        endpoint = await session.get(WebhookEndpoint, endpoint_id)
        assert endpoint is not None  # the delivery rows reference it
        target = await resolve_target(endpoint.url, settings)
        try:
            secret = decrypt_secret(endpoint.secret_encrypted, jwt_key=settings.jwt_key)
        except InvalidToken:
            secret, target = "", UNREADABLE_KEY
        deadline = time.monotonic() + max_seconds
        changes: list[dict[str, Any]] = []
        log: list[dict[str, Any]] = []
        retry_at = None
        for delivery in batch:
            started_at = utcnow()
            due = delivery.next_attempt_at
            if due is not None and due > started_at + DUE_TOLERANCE:
                break  # redelivered rows keep their turn but not an earlier time
            body = orjson.dumps(delivery.payload)
            if isinstance(target, str):
                outcome = AttemptOutcome(None, target, None, 0)
            else:
                outcome = await post_event(
                    http,
                    target=target,
                    body=body,
                    headers=_headers(delivery, secret, body, int(time.time())),
                    time_limit=attempt_timeout(settings),
                )
            change = _outcome_change(delivery, outcome, settings=settings, started_at=started_at)
            changes.append(change)
            log.append(
                {
                    "id": new_id(),
                    "delivery_id": delivery.id,
                    "number": change["attempts"],
                    "started_at": started_at,
                    "duration_ms": outcome.duration_ms,
                    "response_status": outcome.status,
                    "error": outcome.error,
                    "response_snippet": outcome.snippet,
                }
            )
            if change["status"] == "pending":
                retry_at = change["next_attempt_at"]
                break
            if time.monotonic() > deadline:
                break
        if changes:
            await session.execute(update(WebhookDelivery), changes)
            await session.execute(insert(WebhookAttempt), log)
    return Step("attempted", attempts=len(changes), retry_at=retry_at)


def _outcome_change(
    delivery: WebhookDelivery, outcome: AttemptOutcome, *, settings: Settings, started_at: datetime
) -> dict[str, Any]:
    """The delivery's new state after an attempt, as a bulk-update row."""
    attempts = delivery.attempts + 1
    change: dict[str, Any] = {
        "id": delivery.id,
        "attempts": attempts,
        "last_attempt_at": started_at,
        "response_status": outcome.status,
        "delivered_at": None,
        "next_attempt_at": None,
        "last_error": outcome.error,
    }
    if outcome.ok:
        change["status"] = "delivered"
        change["delivered_at"] = utcnow()
        metrics.webhook_attempts.labels("delivered").inc()
    elif attempts >= settings.webhook_max_attempts:
        change["status"] = "failed"
        metrics.webhook_attempts.labels("dead_lettered").inc()
    else:
        change["status"] = "pending"
        delay = retry_delay(
            attempts, base=settings.webhook_retry_base, cap=settings.webhook_retry_max
        )
        change["next_attempt_at"] = utcnow() + timedelta(seconds=delay)
        metrics.webhook_attempts.labels("retry").inc()
    return change
