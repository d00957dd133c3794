"""Occurrence checks that do not need the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from server.errors import DomainError, Validator
from server.events.occurrences import OccurrenceSpec, check_occurrences, planned_occurrences
from server.events.recurrence import Recurrence

START = datetime(2031, 6, 6, 19, 0, tzinfo=UTC)


def errors(specs: list[OccurrenceSpec]) -> list[tuple[str, list[str] | None]]:
    checks = Validator()
    check_occurrences(checks, specs, field="occurrences")
    return [(e.code.value, e.field) for e in checks.errors]


def test_times_without_an_offset_are_refused_by_the_service_too() -> None:
    naive = START.replace(tzinfo=None)

    assert errors([OccurrenceSpec(naive, naive + timedelta(hours=2))]) == [
        ("VALIDATION", ["occurrences", "0"])
    ]


def test_every_bad_occurrence_is_reported() -> None:
    found = errors(
        [
            OccurrenceSpec(START, START - timedelta(hours=1)),
            OccurrenceSpec(START, START + timedelta(hours=1), capacity=0),
            OccurrenceSpec(START, START + timedelta(hours=1), capacity=2_000_000),
        ]
    )

    assert found == [
        ("VALIDATION", ["occurrences", "0", "endsAt"]),
        ("VALIDATION", ["occurrences", "1", "capacity"]),
        ("VALIDATION", ["occurrences", "2", "capacity"]),
    ]


async def test_rule_dates_and_explicit_dates_merge_in_time_order() -> None:
    planned = await planned_occurrences(
        [OccurrenceSpec(START + timedelta(days=3), START + timedelta(days=3, hours=2))],
        Recurrence("FREQ=WEEKLY;COUNT=2", START, START + timedelta(hours=2), capacity=80),
        timezone="UTC",
        existing=(),
        field="occurrences",
        recurrence_field="recurrence",
    )

    assert [(p.starts_at - START, p.capacity) for p in planned] == [
        (timedelta(0), 80),
        (timedelta(days=3), None),
        (timedelta(days=7), 80),
    ]


async def test_a_rule_date_clashing_with_an_existing_one_is_refused() -> None:
    with pytest.raises(DomainError) as caught:
        await planned_occurrences(
            [],
            Recurrence("FREQ=DAILY;COUNT=3", START, START + timedelta(hours=2)),
            timezone="UTC",
            existing=[START + timedelta(days=2)],
            field="addOccurrences",
            recurrence_field="addRecurrence",
        )

    assert caught.value.field == ["addOccurrences"]
