"""The event types an endpoint may subscribe to (`*` for all of them)."""

from __future__ import annotations

ALL_EVENTS = "*"
EVENT_TYPES: frozenset[str] = frozenset(
    {
        "order.created",
        "order.confirmed",
        "order.cancelled",
        "order.refunded",
        "ticket.transferred",
        "ticket.checkedin",
        "event.published",
        "event.cancelled",
        "waitlist.offered",
    }
)


def subscribed(events: list[str], event_type: str) -> bool:
    return event_type in events or ALL_EVENTS in events
