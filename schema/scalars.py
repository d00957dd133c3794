"""Scalars whose parsing the contract pins down: `DateTime` is ISO 8601 *with an offset*.
A date-time without one is ambiguous (whose 20:00?), so it is refused as bad input
rather than guessed at."""

from __future__ import annotations

from datetime import UTC, datetime

import strawberry
from strawberry.types.scalar import ScalarDefinition


def parse_datetime(value: object) -> datetime:
    if not isinstance(value, str) or len(value) > 64:
        raise ValueError("DateTime values are ISO 8601 strings, e.g. 2026-05-01T20:00:00+01:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 date-time.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ValueError(f"{value!r} has no UTC offset; add one, e.g. +00:00 or Z.")
    try:
        # 0001-01-01T00:00+05:00 and 9999-12-31T23:00-05:00 parse, but have no UTC
        # equivalent within years 1 to 9999, so the database driver could not take them.
        parsed.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{value!r} is out of range: years 1 to 9999 in UTC.") from None
    return parsed


DateTime = strawberry.scalar(
    name="DateTime",
    description="An ISO 8601 date-time with a UTC offset, e.g. 2026-05-01T20:00:00+01:00.",
    serialize=lambda value: value.isoformat(),
    parse_value=parse_datetime,
)

SCALAR_MAP: dict[object, ScalarDefinition] = {datetime: DateTime}
