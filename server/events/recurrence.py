"""RFC 5545 recurrence rules expanded into explicit occurrences.

Expansion happens in the event's time zone, on wall-clock time: a weekly show at 20:00 in
Berlin stays at 20:00 local when daylight saving time starts, so its UTC instant moves.
Rules are bounded: a COUNT or an UNTIL is required, at most `MAX_OCCURRENCES` dates come
out, the rule may not reach further than `MAX_SPAN` past its first date, and sub-daily
frequencies are refused. One cost remains that no bound on the output removes: dateutil
searches day by day, up to the year 9999, for a date matching filters that can never
match (BYMONTH=2;BYMONTHDAY=30), a few CPU seconds. Callers therefore expand rules off the
event loop (`expand_in_thread`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from server.events.errors import InvalidRecurrence
from server.numbers import whole_number

MAX_OCCURRENCES = 366
MAX_SPAN = timedelta(days=5 * 366)
MAX_RULE_LENGTH = 500
FREQUENCIES = {"DAILY", "WEEKLY", "MONTHLY", "YEARLY"}


@dataclass(frozen=True, slots=True)
class Recurrence:
    rule: str
    starts_at: datetime  # the first occurrence (aware)
    ends_at: datetime
    capacity: int | None = None


def _parts(rule: str, field: str) -> tuple[str, dict[str, str]]:
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if len(body) > MAX_RULE_LENGTH:
        raise InvalidRecurrence(
            f"The rule is longer than {MAX_RULE_LENGTH} characters.", field=field
        )
    if not body or any(c in body for c in "\r\n") or ":" in body:
        raise InvalidRecurrence(
            "Give one RRULE, e.g. FREQ=WEEKLY;COUNT=10 (no DTSTART: the first "
            "occurrence's start is the rule's start).",
            field=field,
        )
    parts: dict[str, str] = {}
    for piece in body.split(";"):
        name, sep, value = piece.partition("=")
        if not sep or not name.strip():
            raise InvalidRecurrence(f"Not a valid rule part: {piece!r}.", field=field)
        parts[name.strip().upper()] = value.strip()
    return body, parts


def expand(recurrence: Recurrence, *, timezone: str, field: str = "recurrence") -> list[datetime]:
    """The UTC start of every occurrence the rule produces (the first included)."""
    rule_field = f"{field}.rule"
    body, parts = _parts(recurrence.rule, rule_field)
    if parts.get("FREQ", "").upper() not in FREQUENCIES:
        raise InvalidRecurrence("FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY.", field=rule_field)
    if "COUNT" not in parts and "UNTIL" not in parts:
        raise InvalidRecurrence("The rule needs a COUNT or an UNTIL.", field=rule_field)
    if "COUNT" in parts and "UNTIL" in parts:
        raise InvalidRecurrence("Use COUNT or UNTIL, not both (RFC 5545).", field=rule_field)
    count = whole_number(parts.get("COUNT"), max_digits=6)
    if "COUNT" in parts and (count is None or not 0 < count <= MAX_OCCURRENCES):
        raise InvalidRecurrence(f"COUNT must be between 1 and {MAX_OCCURRENCES}.", field=rule_field)
    zone = ZoneInfo(timezone)
    try:
        local_start = recurrence.starts_at.astimezone(zone)
    except OverflowError:
        raise InvalidRecurrence(
            "The first date is outside the years 1 to 9999 in the event's time zone.",
            field=f"{field}.startsAt",
        ) from None
    until = parts.get("UNTIL")
    # dateutil wants a UTC UNTIL with an aware start; a floating UNTIL is local wall time.
    aware = until is not None and until.upper().endswith("Z")
    dtstart = local_start if aware else local_start.replace(tzinfo=None)
    try:
        parsed = rrulestr(body, dtstart=dtstart)
    except (ValueError, TypeError, KeyError, IndexError) as error:
        raise InvalidRecurrence(f"Not a valid RRULE: {error}.", field=rule_field) from None
    if not isinstance(parsed, rrule):
        raise InvalidRecurrence("Give a single RRULE.", field=rule_field)
    # Bound the iteration itself: a rule whose filters match nothing would otherwise make
    # dateutil walk day by day to the year 9999 looking for a date.
    # (The year 9999 is as far as datetime goes.)
    bound = dtstart + min(MAX_SPAN, datetime.max.replace(tzinfo=dtstart.tzinfo) - dtstart)
    until_value = getattr(parsed, "_until", None)
    if until_value is not None and until_value > bound:
        raise InvalidRecurrence(
            "The rule reaches more than five years past its first date.", field=rule_field
        )
    bounded = parsed.replace(count=None, until=until_value or bound)
    wanted = int(count) if count is not None else MAX_OCCURRENCES + 1
    try:
        starts = list(islice(bounded, wanted))
        utc_starts = [
            (s if s.tzinfo is not None else s.replace(tzinfo=zone)).astimezone(UTC) for s in starts
        ]
    except (OverflowError, ValueError):
        raise InvalidRecurrence(
            "The rule's dates run past the year 9999.", field=rule_field
        ) from None
    if count is not None and len(starts) < wanted:
        raise InvalidRecurrence(
            "The rule's COUNT is not reached within five years of its first date.",
            field=rule_field,
        )
    if len(starts) > MAX_OCCURRENCES:
        raise InvalidRecurrence(
            f"The rule produces more than {MAX_OCCURRENCES} occurrences.", field=rule_field
        )
    if not starts:
        raise InvalidRecurrence("The rule produces no dates.", field=rule_field)
    return utc_starts


async def expand_in_thread(
    recurrence: Recurrence, *, timezone: str, field: str = "recurrence"
) -> list[datetime]:
    return await asyncio.to_thread(expand, recurrence, timezone=timezone, field=field)
