"""The event status workflow, in one table: every status change goes through `transition`.

draft ──> published ──> completed
  │           │
  └───────────┴──────> cancelled
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from server.events.errors import IllegalTransition
from server.events.models import Event, EventStatus

TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.DRAFT: frozenset({EventStatus.PUBLISHED, EventStatus.CANCELLED}),
    EventStatus.PUBLISHED: frozenset({EventStatus.COMPLETED, EventStatus.CANCELLED}),
    EventStatus.COMPLETED: frozenset(),
    EventStatus.CANCELLED: frozenset(),
}

# What anyone may read; drafts are for the organization's members only. A cancelled event
# stays public only if it was ever published: cancelling a draft does not reveal it.
PUBLIC_STATUSES = frozenset({EventStatus.PUBLISHED, EventStatus.COMPLETED, EventStatus.CANCELLED})
# Statuses whose details may still change (title, policies, occurrences).
OPEN_STATUSES = frozenset({EventStatus.DRAFT, EventStatus.PUBLISHED})


def is_public(status: EventStatus, published_at: datetime | None) -> bool:
    if status is EventStatus.CANCELLED:
        return published_at is not None
    return status in PUBLIC_STATUSES


def public_filter() -> ColumnElement[bool]:
    """`is_public` as SQL, for listings."""
    return or_(
        Event.status.in_([EventStatus.PUBLISHED, EventStatus.COMPLETED]),
        and_(Event.status == EventStatus.CANCELLED, Event.published_at.is_not(None)),
    )


def can_transition(current: EventStatus, target: EventStatus) -> bool:
    return target in TRANSITIONS[current]


def transition(event: Event, target: EventStatus, *, now: datetime) -> None:
    """Move `event` to `target` or raise `IllegalTransition` (INVALID_STATE). The caller
    holds the event row lock, so two transitions of one event never interleave."""
    if not can_transition(event.status, target):
        raise IllegalTransition(event.status.value, target.value)
    event.status = target
    if target is EventStatus.PUBLISHED:
        event.published_at = now
    elif target is EventStatus.COMPLETED:
        event.completed_at = now
    elif target is EventStatus.CANCELLED:
        event.cancelled_at = now
