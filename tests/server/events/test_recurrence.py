"""RRULE expansion: wall-clock time in the event's zone, and bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from server.errors import ErrorCode
from server.events.errors import InvalidRecurrence
from server.events.recurrence import MAX_OCCURRENCES, Recurrence, expand

# Sunday 15 March 2026, 20:00 in Berlin (UTC+1); summer time starts on 29 March.
FIRST = datetime(2026, 3, 15, 19, 0, tzinfo=UTC)
END = datetime(2026, 3, 15, 22, 0, tzinfo=UTC)


def starts(rule: str, timezone: str = "Europe/Berlin") -> list[datetime]:
    return expand(Recurrence(rule, FIRST, END), timezone=timezone)


def test_a_weekly_show_stays_at_20_00_local_across_the_dst_change() -> None:
    result = starts("FREQ=WEEKLY;COUNT=4")

    assert result == [
        datetime(2026, 3, 15, 19, 0, tzinfo=UTC),
        datetime(2026, 3, 22, 19, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 18, 0, tzinfo=UTC),
        datetime(2026, 4, 5, 18, 0, tzinfo=UTC),
    ]


def test_in_utc_the_instant_does_not_move() -> None:
    result = starts("FREQ=WEEKLY;COUNT=3", timezone="UTC")

    assert [d.hour for d in result] == [19, 19, 19]


def test_until_in_utc_and_floating_local_until_both_work() -> None:
    utc_until = starts("RRULE:FREQ=WEEKLY;UNTIL=20260329T180000Z")
    local_until = starts("FREQ=WEEKLY;UNTIL=20260329T200000")

    assert len(utc_until) == 3
    assert local_until == utc_until


def test_byday_rules_expand_from_the_first_occurrence() -> None:
    result = starts("FREQ=WEEKLY;BYDAY=SU,WE;COUNT=4")

    assert [d.strftime("%a %d") for d in result] == ["Sun 15", "Wed 18", "Sun 22", "Wed 25"]


def test_the_largest_allowed_count_is_accepted() -> None:
    assert len(starts(f"FREQ=DAILY;COUNT={MAX_OCCURRENCES}")) == MAX_OCCURRENCES


@pytest.mark.parametrize(
    ("rule", "fragment"),
    [
        ("FREQ=WEEKLY", "needs a COUNT or an UNTIL"),
        (f"FREQ=DAILY;COUNT={MAX_OCCURRENCES + 1}", "COUNT must be between"),
        ("FREQ=DAILY;UNTIL=20270601", f"more than {MAX_OCCURRENCES} occurrences"),
        ("FREQ=YEARLY;UNTIL=20990101", "more than five years"),
        ("FREQ=HOURLY;COUNT=3", "FREQ must be"),
        ("FREQ=WEEKLY;BYDAY=XX;COUNT=3", "Not a valid RRULE"),
        ("FREQ=WEEKLY;COUNT=3;UNTIL=20260405", "not both"),
        ("DTSTART:20200101T000000Z\nRRULE:FREQ=DAILY;COUNT=2", "Give one RRULE"),
        ("FREQ=WEEKLY;COUNT", "Not a valid rule part"),
        ("FREQ=YEARLY;COUNT=3;BYMONTH=2;BYMONTHDAY=30", "not reached"),
        ("", "Give one RRULE"),
    ],
)
def test_bad_rules_are_validation_errors(rule: str, fragment: str) -> None:
    with pytest.raises(InvalidRecurrence) as caught:
        starts(rule)

    assert caught.value.code is ErrorCode.VALIDATION
    assert caught.value.field == ["recurrence.rule"]
    assert fragment in caught.value.message


@pytest.mark.parametrize(
    ("first", "timezone", "rule"),
    [
        (datetime(9999, 12, 30, 23, 0, tzinfo=UTC), "UTC", "FREQ=DAILY;COUNT=3"),
        (datetime(9999, 12, 31, 20, 0, tzinfo=UTC), "Asia/Tokyo", "FREQ=DAILY;COUNT=3"),
        (datetime(1, 1, 1, 1, 0, tzinfo=UTC), "America/New_York", "FREQ=YEARLY;COUNT=2"),
        (datetime(9999, 12, 31, 20, 0, tzinfo=UTC), "UTC", "FREQ=DAILY;UNTIL=99991231T000000"),
    ],
)
def test_dates_at_the_end_of_the_calendar_are_validation_errors(
    first: datetime, timezone: str, rule: str
) -> None:
    with pytest.raises(InvalidRecurrence) as caught:
        expand(Recurrence(rule, first, first), timezone=timezone)

    assert caught.value.code is ErrorCode.VALIDATION
