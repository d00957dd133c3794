"""Webhook jobs: drain an endpoint's due deliveries, wake endpoints when deliveries are
created or come due, and a sweep that catches any wake-up that was lost."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta

import structlog
from arq.connections import ArqRedis
from sqlalchemy import select

from server.app_state import AppState
from server.clock import utcnow
from server.effects import handles
from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.enqueue import coalesced_job_started, enqueue, enqueue_coalesced
from server.jobs.registry import cron, task
from server.webhooks.delivery import attempt_batch, attempt_timeout
from server.webhooks.fanout import EndpointsReady
from server.webhooks.models import WebhookDelivery

log = structlog.get_logger("eventapi.webhooks")

WAKE_MARGIN = timedelta(milliseconds=50)
SWEEP_STALE_AFTER = timedelta(seconds=30)
SWEEP_LIMIT = 1000


def _wake_key(endpoint_id: uuid.UUID | str) -> str:
    return f"webhooks:{endpoint_id}"


async def wake_endpoint(queue: ArqRedis, endpoint_id: uuid.UUID) -> None:
    await enqueue_coalesced(queue, deliver_webhooks, str(endpoint_id), key=_wake_key(endpoint_id))


async def wake_endpoint_at(queue: ArqRedis, endpoint_id: uuid.UUID, at: datetime) -> None:
    """A deferred run for when the head delivery's retry comes due (one per endpoint and
    time, however often it is asked for)."""
    stamp = int(at.timestamp() * 1000)
    await enqueue(
        queue,
        deliver_webhooks,
        str(endpoint_id),
        job_id=f"webhooks.retry:{endpoint_id}:{stamp}",
        defer_until=at + WAKE_MARGIN,
    )


async def drain_endpoint(ctx: JobContext, endpoint_id: uuid.UUID) -> int:
    """Attempt the endpoint's deliveries in order until none is due, then arrange the next
    run if one is waiting for a retry. Returns the number of attempts made. A long backlog
    is handed to a fresh job before this one nears its timeout."""
    budget = max(0.0, ctx.settings.job_timeout / 2 - attempt_timeout(ctx.settings))
    deadline = time.monotonic() + budget
    attempts = 0
    while True:
        step = await attempt_batch(ctx.db, ctx.http, ctx.settings, endpoint_id)
        if step.kind == "idle":
            return attempts
        attempts += step.attempts
        if step.retry_at is not None:
            await wake_endpoint_at(ctx.queue, endpoint_id, step.retry_at)
            return attempts
        if time.monotonic() > deadline:
            await wake_endpoint(ctx.queue, endpoint_id)
            return attempts


@task(queue=queues.WEBHOOKS, name="webhooks.deliver", max_tries=5, retry_delay=2.0)
async def deliver_webhooks(ctx: JobContext, endpoint_id: str) -> int:
    await coalesced_job_started(ctx.redis, _wake_key(endpoint_id))
    return await drain_endpoint(ctx, uuid.UUID(endpoint_id))


@cron(queue=queues.WEBHOOKS, name="cron:webhooks.sweep", second={15, 45})
async def sweep_webhooks(ctx: JobContext) -> None:
    """Wake endpoints whose due deliveries have waited a while: their wake-up was lost (a
    worker died between commit and enqueue, Redis was flushed, ...)."""
    async with ctx.db.read() as session:
        stale = list(
            await session.scalars(
                select(WebhookDelivery.endpoint_id)
                .where(
                    WebhookDelivery.status == "pending",
                    WebhookDelivery.next_attempt_at <= utcnow() - SWEEP_STALE_AFTER,
                )
                .distinct()
                .limit(SWEEP_LIMIT)
            )
        )
    for endpoint_id in stale:
        await wake_endpoint(ctx.queue, endpoint_id)
    if stale:
        log.info("woke endpoints with overdue deliveries", count=len(stale))


@handles(EndpointsReady)
async def _wake_ready_endpoints(state: AppState, effects: list[EndpointsReady]) -> None:
    if state.queue is None:
        return
    endpoint_ids = set().union(*(e.endpoint_ids for e in effects))
    for endpoint_id in endpoint_ids:
        await wake_endpoint(state.queue, endpoint_id)
