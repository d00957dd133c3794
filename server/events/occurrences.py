"""Checking and planning an event's occurrences (explicit dates plus an optional rule)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from server.errors import ValidationError, Validator
from server.events.recurrence import MAX_OCCURRENCES, Recurrence, expand_in_thread

MAX_CAPACITY = 1_000_000
MAX_PER_EVENT = 1_000


@dataclass(frozen=True, slots=True)
class OccurrenceSpec:
    starts_at: datetime
    ends_at: datetime
    capacity: int | None = None


def _check_one(
    checks: Validator,
    field: list[str],
    starts_at: datetime,
    ends_at: datetime,
    capacity: int | None,
) -> None:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        checks.add(field, "Give times with a UTC offset, e.g. 2026-06-01T20:00:00+01:00.")
    elif ends_at <= starts_at:
        checks.add([*field, "endsAt"], "An occurrence must end after it starts.")
    if capacity is not None and not 0 < capacity <= MAX_CAPACITY:
        checks.add([*field, "capacity"], f"Capacity must be between 1 and {MAX_CAPACITY}.")


def check_occurrences(checks: Validator, specs: Sequence[OccurrenceSpec], *, field: str) -> None:
    if len(specs) > MAX_OCCURRENCES:
        checks.add(field, f"Give at most {MAX_OCCURRENCES} occurrences at once.")
        return
    for i, spec in enumerate(specs):
        _check_one(checks, [field, str(i)], spec.starts_at, spec.ends_at, spec.capacity)


async def planned_occurrences(
    specs: Sequence[OccurrenceSpec],
    recurrence: Recurrence | None,
    *,
    timezone: str,
    existing: Sequence[datetime],
    field: str,
    recurrence_field: str,
) -> list[OccurrenceSpec]:
    """The explicit occurrences plus the rule's, in time order; two occurrences of one
    event may not start at the same instant."""
    planned = list(specs)
    if recurrence is not None:
        checks = Validator()
        _check_one(
            checks,
            [recurrence_field],
            recurrence.starts_at,
            recurrence.ends_at,
            recurrence.capacity,
        )
        checks.raise_if_any()
        duration = recurrence.ends_at - recurrence.starts_at
        starts = await expand_in_thread(recurrence, timezone=timezone, field=recurrence_field)
        planned.extend(OccurrenceSpec(s, s + duration, recurrence.capacity) for s in starts)
    taken = set(existing)
    for spec in planned:
        if spec.starts_at in taken:
            raise ValidationError(
                f"Two occurrences would start at {spec.starts_at.isoformat()}.", field=field
            )
        taken.add(spec.starts_at)
    if len(taken) > MAX_PER_EVENT:
        raise ValidationError(f"An event has at most {MAX_PER_EVENT} occurrences.", field=field)
    return sorted(planned, key=lambda s: s.starts_at)
