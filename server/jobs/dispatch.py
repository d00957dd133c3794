"""The outbox dispatcher: takes undispatched outbox events in `sequence` order, fans each
out to webhook deliveries and to the registered consumers, and marks it dispatched, all in
one transaction.

Several dispatchers (one per worker process) cooperate through `FOR UPDATE SKIP LOCKED`.
Order matters per organization (webhook deliveries per endpoint follow event order), so a
dispatcher only takes an organization's events up to the first earlier event of that
organization that another dispatcher holds; that one goes on with them.

It runs when a commit appends to the outbox (the `OutboxAppended` effect enqueues it,
coalesced) and from a cron every few seconds, in case a nudge was lost."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from redis.asyncio.client import Pipeline
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.app_state import AppState
from server.clock import utcnow
from server.db import EFFECTS_KEY
from server.effects import FollowUp, in_pipeline
from server.jobs import metrics, queues
from server.jobs.consumers import ConsumerContext, consumer_name, consumers_for
from server.jobs.context import JobContext
from server.jobs.dead_letters import record_dead_letter
from server.jobs.enqueue import coalesced_job_started, enqueue_coalesced_in
from server.jobs.registry import cron, task
from server.outbox.models import OutboxEvent
from server.outbox.service import OutboxAppended
from server.webhooks.fanout import create_deliveries

log = structlog.get_logger("eventapi.outbox")

BATCH_SIZE = 200
COALESCE_KEY = "outbox-dispatch"


@dataclass(frozen=True)
class ConsumerFailure:
    consumer: str
    event: OutboxEvent
    error: str


async def dispatch_outbox(state: AppState, *, batch_size: int = BATCH_SIZE) -> int:
    """Dispatch until no event is left that this dispatcher may take; returns how many."""
    total = 0
    while True:
        count, more = await _dispatch_batch(state, batch_size)
        total += count
        if not more:
            return total


async def _dispatch_batch(state: AppState, batch_size: int) -> tuple[int, bool]:
    failures: list[ConsumerFailure] = []
    async with state.db.transaction() as session:
        now = utcnow()
        locked = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.dispatched_at.is_(None))
                .order_by(OutboxEvent.sequence)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        if not locked:
            return 0, False
        events = await _in_organization_order(session, locked)
        if not events:
            return 0, False
        await create_deliveries(session, events, now=now)
        context = ConsumerContext(
            session=session, settings=state.settings, redis=state.redis, now=now
        )
        for event in events:
            failures += await _run_consumers(context, event)
        await session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_([e.id for e in events]))
            .values(dispatched_at=now)
        )
    for event in events:
        metrics.outbox_dispatched.labels(event.event_type).inc()
    for failure in failures:
        await record_dead_letter(
            state.db,
            queue="outbox",
            function=failure.consumer,
            job_id=str(failure.event.id),
            args=[str(failure.event.id), failure.event.event_type],
            kwargs={},
            error=failure.error,
            tries=1,
        )
    return len(events), len(events) == len(locked) == batch_size


async def _in_organization_order(
    session: AsyncSession, locked: list[OutboxEvent]
) -> list[OutboxEvent]:
    """The locked events that no earlier, unlocked-by-us event of their organization
    precedes (another dispatcher holds those and will deliver them first)."""
    organizations = {e.organization_id for e in locked if e.organization_id is not None}
    if not organizations:
        return locked
    mine = {e.id for e in locked}
    rows = await session.execute(
        select(OutboxEvent.id, OutboxEvent.organization_id)
        .where(
            OutboxEvent.dispatched_at.is_(None),
            OutboxEvent.organization_id.in_(organizations),
            OutboxEvent.sequence <= locked[-1].sequence,
        )
        .order_by(OutboxEvent.sequence)
    )
    blocked: set[uuid.UUID | None] = set()
    keep: set[uuid.UUID] = set()
    for event_id, organization_id in rows:
        if event_id not in mine:
            blocked.add(organization_id)
        elif organization_id not in blocked:
            keep.add(event_id)
    return [e for e in locked if e.organization_id is None or e.id in keep]


async def _run_consumers(context: ConsumerContext, event: OutboxEvent) -> list[ConsumerFailure]:
    failures = []
    session = context.session
    for consumer in consumers_for(event.event_type):
        effects: list[object] = session.info.setdefault(EFFECTS_KEY, [])
        recorded = len(effects)
        try:
            async with session.begin_nested():
                await consumer(context, event)
        except Exception as exc:
            # Effects the failed consumer recorded belong to rolled-back work.
            del session.info.setdefault(EFFECTS_KEY, [])[recorded:]
            name = consumer_name(consumer)
            log.exception("outbox consumer failed", consumer=name, event_id=str(event.id))
            failures.append(ConsumerFailure(name, event, f"{type(exc).__name__}: {exc}"[:2000]))
    return failures


@task(queue=queues.MAINTENANCE, name="outbox.dispatch", max_tries=10, retry_delay=1.0)
async def dispatch_outbox_job(ctx: JobContext) -> int:
    await coalesced_job_started(ctx.redis, COALESCE_KEY)
    return await dispatch_outbox(ctx.state)


@cron(queue=queues.MAINTENANCE, name="cron:outbox.dispatch", second=set(range(0, 60, 10)))
async def dispatch_outbox_sweep(ctx: JobContext) -> None:
    await dispatch_outbox(ctx.state)


@in_pipeline(OutboxAppended)
def _nudge_dispatcher(
    state: AppState, effects: list[OutboxAppended], pipe: Pipeline
) -> FollowUp | None:
    if state.queue is None:
        return None
    return enqueue_coalesced_in(pipe, state.queue, dispatch_outbox_job, key=COALESCE_KEY)
