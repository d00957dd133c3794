"""The waitlist's background work: serving rows with pooled units or due offers, and
mailing offers.

`serve_waitlists` looks for every row that needs serving, so it is safe to run at any
time, any number of times, from any number of workers: a nudge after a release runs it at
once (coalesced), a deferred run fires when an offer ends, and a sweep every few seconds
(and at worker start) catches up with whatever a lost nudge or a dead worker left behind.
Each row is served in its own transaction under its lock (see server.waitlist.offers)."""

from __future__ import annotations

import uuid

import structlog
from sqlalchemy import select, text

from server.app_state import AppState
from server.clock import utcnow
from server.effects import handles
from server.events.models import Event
from server.jobs import queues
from server.jobs.context import JobContext
from server.jobs.enqueue import coalesced_job_started, enqueue_coalesced
from server.jobs.registry import cron, task
from server.mail.jobs import deliver_mail
from server.ticketing.models import Hold, TicketType
from server.waitlist.mail import offer_mail
from server.waitlist.models import WaitlistEntry, WaitlistStatus
from server.waitlist.offers import serve_row
from server.waitlist.pool import WaitlistNudge

log = structlog.get_logger("eventapi.waitlist")

COALESCE_KEY = "waitlist-serve"

_ROWS_TO_SERVE = text(
    """
    SELECT inventory_id FROM waitlist_pools WHERE units > 0
    UNION
    SELECT e.inventory_id FROM waitlist_entries e LEFT JOIN holds h ON h.id = e.hold_id
    WHERE e.status = 'offered'
      AND (e.offer_expires_at <= :now OR h.id IS NULL OR h.released_at IS NOT NULL)
    UNION
    SELECT e.inventory_id FROM waitlist_entries e
    JOIN inventory i ON i.id = e.inventory_id
    JOIN event_occurrences o ON o.id = e.occurrence_id
    JOIN ticket_types t ON t.id = e.ticket_type_id
    JOIN events ev ON ev.id = e.event_id
    WHERE e.status = 'waiting'
      AND (i.quantity - i.sold - i.reserved - i.held > 0 OR o.ends_at <= :now
           OR t.sales_end <= :now OR ev.status IN ('completed', 'cancelled'))
    """
)


async def serve_waitlists(state: AppState) -> int:
    """Serve every row that needs it; returns the offers made."""
    async with state.db.read() as session:
        rows: list[uuid.UUID] = list(await session.scalars(_ROWS_TO_SERVE, {"now": utcnow()}))
    offers = 0
    for inventory_id in sorted(rows):
        try:
            async with state.db.transaction() as session:
                offers += await serve_row(session, inventory_id=inventory_id, now=utcnow())
        except Exception:
            # One broken row must not hold up the others; the next run tries it again.
            log.exception("serving a waitlist failed", inventory_id=str(inventory_id))
    if offers:
        log.info("waitlist offers made", offers=offers)
    return offers


@task(queue=queues.MAINTENANCE, name="waitlist.serve", max_tries=5, retry_delay=1.0)
async def serve_waitlists_job(ctx: JobContext) -> int:
    await coalesced_job_started(ctx.redis, COALESCE_KEY)
    return await serve_waitlists(ctx.state)


@cron(
    queue=queues.MAINTENANCE,
    name="cron:waitlist.serve",
    second=set(range(0, 60, 5)),
    run_at_startup=True,
)
async def serve_waitlists_sweep(ctx: JobContext) -> int:
    return await serve_waitlists(ctx.state)


@task(queue=queues.MAIL, name="waitlist.offer_mail", max_tries=8, retry_delay=30.0)
async def send_offer_mail(ctx: JobContext, entry_id: str, hold_id: str) -> str | None:
    """Mail the offer, once (the mail's idempotency key is the offer), if it still stands."""
    async with ctx.db.read() as session:
        found = (
            await session.execute(
                select(WaitlistEntry, Hold, TicketType.name, Event.title)
                .join(Hold, Hold.id == WaitlistEntry.hold_id)
                .join(TicketType, TicketType.id == WaitlistEntry.ticket_type_id)
                .join(Event, Event.id == WaitlistEntry.event_id)
                .where(WaitlistEntry.id == uuid.UUID(entry_id), Hold.id == uuid.UUID(hold_id))
            )
        ).first()
    if found is None or found[0].status is not WaitlistStatus.OFFERED:
        return None
    entry, hold, type_name, title = found
    mail = offer_mail(
        entry=entry,
        hold=hold,
        ticket_type=type_name,
        event_title=title,
        base_url=ctx.settings.base_url,
    )
    return await deliver_mail(ctx.settings, ctx.redis, mail)


@handles(WaitlistNudge)
async def _nudge(state: AppState, nudges: list[WaitlistNudge]) -> None:
    if state.queue is not None:
        await enqueue_coalesced(state.queue, serve_waitlists_job, key=COALESCE_KEY)
