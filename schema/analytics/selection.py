"""What an eventAnalytics selection asks for, known before its fields resolve: the series
by the minute (the rollup is hourly, so minutes are read live), so that they are read in
the same snapshot as everything else. Fragments, aliases and variables are followed."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from strawberry.types.nodes import FragmentSpread, InlineFragment, SelectedField, Selection

from schema.context import Info
from schema.scalars import parse_datetime
from server.analytics.figures import Window

SERIES = ("sales", "checkIns")


def minute_window(info: Info) -> Window | None:
    """The window of facts that the selection's series by the minute cover; None if it
    asks for none."""
    ranges: list[tuple[datetime | None, datetime | None]] = []
    for analytics in _fields(info.selected_fields):
        for series in _fields(analytics.selections):
            if series.name not in SERIES or not _is_minute(series.arguments.get("interval")):
                continue
            ranges.append(
                (_moment(series.arguments.get("from")), _moment(series.arguments.get("to")))
            )
    return Window.around(ranges)


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        elif isinstance(selection, FragmentSpread | InlineFragment):
            yield from _fields(selection.selections)


def _is_minute(value: object) -> bool:
    return str(getattr(value, "value", value)).lower() == "minute"


def _moment(value: object) -> datetime | None:
    """A bound as given (a literal string or a parsed variable); an unreadable one is
    refused by the field itself, so here it just widens the window."""
    if isinstance(value, datetime):
        return value
    try:
        return parse_datetime(value)
    except (TypeError, ValueError):
        return None
