"""Append domain events to the outbox inside the caller's transaction.

Event types are dotted (`order.confirmed`). The payload is plain JSON: ids as strings,
money as minor units plus currency, times in ISO 8601."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit
from server.ids import new_id
from server.outbox.models import OutboxEvent

OUTBOX_WAKEUP_CHANNEL = "eventapi:outbox"


class OutboxAppended:
    """After-commit effect: nudges the dispatcher so events go out without polling delay."""


async def emit(
    session: AsyncSession,
    event_type: str,
    *,
    organization_id: uuid.UUID | None,
    payload: dict[str, Any],
) -> OutboxEvent:
    """Append the event with one plain INSERT (no unit-of-work bookkeeping: this sits on
    hot paths) and return it, detached from the session."""
    event = OutboxEvent(
        id=new_id(), organization_id=organization_id, event_type=event_type, payload=payload
    )
    await session.execute(
        insert(OutboxEvent).values(
            id=event.id, organization_id=organization_id, event_type=event_type, payload=payload
        )
    )
    after_commit(session, OutboxAppended())
    return event


async def emit_many(
    session: AsyncSession, events: Sequence[tuple[str, uuid.UUID | None, Mapping[str, Any]]]
) -> None:
    """Append several events, (type, organization id, payload) each, in one INSERT."""
    if not events:
        return
    await session.execute(
        insert(OutboxEvent),
        [
            {"id": new_id(), "organization_id": org, "event_type": kind, "payload": dict(payload)}
            for kind, org, payload in events
        ],
    )
    after_commit(session, OutboxAppended())
