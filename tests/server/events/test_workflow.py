"""The status workflow table: every pair of statuses, legal or not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.errors import ErrorCode
from server.events.errors import IllegalTransition
from server.events.models import Event, EventStatus
from server.events.workflow import transition

NOW = datetime(2031, 1, 1, tzinfo=UTC)
LEGAL = {
    (EventStatus.DRAFT, EventStatus.PUBLISHED),
    (EventStatus.DRAFT, EventStatus.CANCELLED),
    (EventStatus.PUBLISHED, EventStatus.COMPLETED),
    (EventStatus.PUBLISHED, EventStatus.CANCELLED),
}
PAIRS = [(a, b) for a in EventStatus for b in EventStatus]


@pytest.mark.parametrize(("current", "target"), PAIRS)
def test_only_the_table_s_transitions_are_allowed(
    current: EventStatus, target: EventStatus
) -> None:
    event = Event(status=current)

    if (current, target) in LEGAL:
        transition(event, target, now=NOW)
        assert event.status is target
    else:
        with pytest.raises(IllegalTransition) as caught:
            transition(event, target, now=NOW)
        assert caught.value.code is ErrorCode.INVALID_STATE
        assert event.status is current


def test_each_transition_stamps_its_time() -> None:
    published = Event(status=EventStatus.DRAFT)
    transition(published, EventStatus.PUBLISHED, now=NOW)
    cancelled = Event(status=EventStatus.PUBLISHED)
    transition(cancelled, EventStatus.CANCELLED, now=NOW)
    completed = Event(status=EventStatus.PUBLISHED)
    transition(completed, EventStatus.COMPLETED, now=NOW)

    assert published.published_at == NOW
    assert cancelled.cancelled_at == NOW
    assert completed.completed_at == NOW
