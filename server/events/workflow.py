"""The event status workflow, in one table: every status change goes through `transition`.

draft ──> published ──> completed
  │           │
  └───────────┴──────> cancelled
"""

from __future__ import annotations

from datetime import datetime

from server.events.errors import IllegalTransition
from server.events.models import Event, EventStatus

TRANSITIONS: dict[EventStatus, frozenset[EventStatus]] = {
    EventStatus.DRAFT: frozenset({EventStatus.PUBLISHED, EventStatus.CANCELLED}),
    EventStatus.PUBLISHED: frozenset({EventStatus.COMPLETED, EventStatus.CANCELLED}),
    EventStatus.COMPLETED: frozenset(),
    EventStatus.CANCELLED: frozenset(),
}

# What anyone may read; drafts are for the organization's members only.
PUBLIC_STATUSES = frozenset({EventStatus.PUBLISHED, EventStatus.COMPLETED, EventStatus.CANCELLED})
# Statuses whose details may still change (title, policies, occurrences).
OPEN_STATUSES = frozenset({EventStatus.DRAFT, EventStatus.PUBLISHED})


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
