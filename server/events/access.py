"""Events together with the caller's right to touch them."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.events.errors import EventNotFound
from server.events.models import Event, EventStatus
from server.events.workflow import is_public
from server.organizations.access import Grant, Permission, authorize


async def event_for_write(
    session: AsyncSession, actor: Actor, event_id: uuid.UUID, *, field: str = "id"
) -> tuple[Event, Grant]:
    """The event, locked with `SELECT ... FOR UPDATE`, once the caller is known to be
    allowed to change it. Status changes, occurrences and ticket types of one event are
    written under this lock, so none of them misses another's rows."""
    organization_id = await session.scalar(
        select(Event.organization_id).where(Event.id == event_id)
    )
    if organization_id is None:
        raise EventNotFound(field=field)
    grant = await authorize(
        session,
        actor,
        organization_id,
        Permission.EVENTS_WRITE,
        not_found=EventNotFound(field=field),
    )
    event = await session.scalar(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if event is None:
        raise EventNotFound(field=field)
    return event, grant


async def check_readable(
    session: AsyncSession,
    actor: Actor,
    *,
    organization_id: uuid.UUID,
    status: EventStatus,
    published_at: datetime | None,
) -> None:
    """Published and completed events are public, and cancelled ones that were published;
    a draft is visible only to the organization's members and its keys with events:read.
    Anyone else gets `EventNotFound`, the same answer as for an event that does not exist."""
    if is_public(status, published_at):
        return
    if actor.is_anonymous:
        raise EventNotFound()
    await authorize(
        session, actor, organization_id, Permission.EVENTS_READ, not_found=EventNotFound()
    )
