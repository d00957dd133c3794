"""The worker keeps the analytics rollup of the events people look at.

A read that finds an event's mark missing or older than `FOLD_AFTER` asks for a fold
(`keep_rollup_current`); one job per event is queued at a time (its job id), and a fold that
finds nothing new to settle changes nothing. No sweep: an event nobody reads costs
nothing, and a read never depends on the job (it reads live whatever is past the mark),
so a lost job or a stopped worker only makes reads slower, never wrong."""

from __future__ import annotations

import uuid

import structlog
from arq.connections import ArqRedis
from sqlalchemy import select

from server.analytics.figures import Figures
from server.analytics.rollup import fold
from server.analytics.service import wants_fold
from server.clock import utcnow
from server.events.models import Event
from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.enqueue import enqueue
from server.jobs.registry import task

log = structlog.get_logger("eventapi.analytics")


@task(queue=queues.MAINTENANCE, name="analytics.fold", max_tries=3, retry_delay=10.0)
async def fold_event_analytics(ctx: JobContext, event_id: str) -> str | None:
    async with ctx.db.transaction() as session:
        if await session.scalar(select(Event.id).where(Event.id == uuid.UUID(event_id))) is None:
            return None
        folded = await fold(session, uuid.UUID(event_id))
    if folded is None:
        return None
    log.info(
        "analytics folded", event_id=event_id, mark=folded.mark.isoformat(), hours=folded.hours
    )
    return folded.mark.isoformat()


async def keep_rollup_current(
    queue: ArqRedis | None, event_id: uuid.UUID, figures: Figures
) -> None:
    """After a read: if the rollup's mark was missing or old, ask the worker to fold the
    event (one job at a time, however many readers ask). Best effort: a read must not
    fail because the queue is away."""
    if queue is None or not wants_fold(figures, utcnow()):
        return
    try:
        await enqueue(
            queue, fold_event_analytics, str(event_id), job_id=f"analytics.fold:{event_id}"
        )
    except Exception:
        log.warning("could not ask for an analytics fold", event_id=str(event_id), exc_info=True)
