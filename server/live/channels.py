"""Redis pub/sub channel names and the compact messages sent on them.

A message says only *what* changed, never the new state: each instance reads the state
itself once the message arrives, so a late or coalesced message still leads to the
current state, never to an old one."""

from __future__ import annotations

import uuid

import orjson

PREFIX = "live:"
EVENT_PREFIX = "live:event:"
ORDER_PREFIX = "live:order:"
# Every instance listens here even with no subscribers, so its one pub/sub connection is
# always open and a Redis restart is noticed at once.
CONTROL = "live:control"

# The occurrences a change touched; None: all of the event's dates.
Scope = frozenset[uuid.UUID] | None


def event_channel(event_id: uuid.UUID) -> str:
    return f"{EVENT_PREFIX}{event_id}"


def order_channel(order_id: uuid.UUID) -> str:
    return f"{ORDER_PREFIX}{order_id}"


def encode_scope(occurrences: Scope) -> bytes:
    return orjson.dumps({"o": None if occurrences is None else sorted(map(str, occurrences))})


def decode_scope(data: bytes | str) -> Scope:
    """The occurrences named by a message; anything unreadable widens to all dates."""
    try:
        body = orjson.loads(data)
        listed = body.get("o") if isinstance(body, dict) else None
        if listed is None:
            return None
        return frozenset(uuid.UUID(str(o)) for o in listed)
    except (orjson.JSONDecodeError, ValueError, TypeError):
        return None


def merge_scopes(a: Scope, b: Scope) -> Scope:
    if a is None or b is None:
        return None
    return a | b
