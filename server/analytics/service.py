"""Event analytics: who may read them, and the read itself, in one repeatable-read
snapshot. The numbers agree with the orders, payments, refunds, check-ins and waitlist
tables exactly, whenever they are read: settled facts come from the hourly rollup (kept
by the worker, server.analytics.rollup), the facts since its mark and every state that
still changes come from the tables (server.analytics.figures). The order path pays
nothing for them. See docs/analytics.md for the definitions and the measurements."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from server.analytics.figures import Figures, Window, read_figures
from server.auth.actor import Actor
from server.errors import Unauthenticated
from server.events.errors import EventNotFound
from server.events.models import Event, EventOccurrence
from server.organizations.access import Permission, authorize
from server.ticketing.errors import OccurrenceNotFound

# A read that finds the rollup's mark older than this asks the worker for a fold, so the
# facts read live stay a few minutes' worth.
FOLD_AFTER = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Scope:
    """What one analytics read covers: an event, or one of its dates."""

    event: Event
    occurrence_id: uuid.UUID | None


async def snapshot(session: AsyncSession) -> None:
    """Every read of the session sees one snapshot: its transaction begins REPEATABLE
    READ, READ ONLY (in the BEGIN itself: no round trip). Call first, before any read."""
    await session.connection(
        execution_options={"isolation_level": "REPEATABLE READ", "postgresql_readonly": True}
    )


async def authorize_analytics(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> Scope:
    """Members of the event's organization (staff and up) and keys with orders:read."""
    if actor.is_anonymous:
        raise Unauthenticated()
    event = await session.get(Event, event_id)
    if event is None:
        raise EventNotFound(field="eventId")
    await authorize(
        session,
        actor,
        event.organization_id,
        Permission.ORDERS_READ,
        not_found=EventNotFound(field="eventId"),
    )
    if occurrence_id is not None:
        occurrence = await session.get(EventOccurrence, occurrence_id)
        if occurrence is None or occurrence.event_id != event.id:
            raise OccurrenceNotFound(field="occurrenceId")
    return Scope(event, occurrence_id)


async def read_analytics(
    session: AsyncSession, scope: Scope, *, window: Window | None = None
) -> Figures:
    """The scope's figures (totals, types, series) in the session's snapshot."""
    figures = await read_figures(session, scope.event.id, window=window)
    return figures.scoped(scope.occurrence_id)


def wants_fold(figures: Figures, now: datetime) -> bool:
    return figures.mark is None or now - figures.mark > FOLD_AFTER
