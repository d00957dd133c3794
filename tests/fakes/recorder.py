"""A payment event handler for tests that records each application in the database (an
outbox row written in the handler's transaction), so a test counts what was applied by
querying PostgreSQL rather than trusting an in-memory counter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import Database
from server.errors import DomainError
from server.outbox.models import OutboxEvent
from server.outbox.service import emit
from server.payments.base import EventKind, ProviderEvent
from server.payments.events import handlers_replaced

APPLIED = "payment.test_applied"


class EventRecorder:
    def __init__(self) -> None:
        self.delay_seconds = 0.0  # hold the transaction open, to widen race windows
        self.reject_with: DomainError | None = None  # raised after the row is written
        self.crash_with: Exception | None = None

    async def handle(self, session: AsyncSession, event: ProviderEvent, now: datetime) -> None:
        await emit(
            session,
            APPLIED,
            organization_id=None,
            payload={
                "provider": event.provider.value,
                "event_id": event.event_id,
                "kind": event.kind.value,
                "reference": event.reference,
                "provider_ref": event.provider_ref,
                "amount_minor": event.amount_minor,
                "currency": event.currency,
                "refunded_total_minor": event.refunded_total_minor,
                "dispute_outcome": event.dispute_outcome,
            },
        )
        if self.delay_seconds:
            await session.execute(text("SELECT pg_sleep(:s)"), {"s": self.delay_seconds})
        if self.reject_with is not None:
            raise self.reject_with
        if self.crash_with is not None:
            raise self.crash_with

    @contextmanager
    def installed(self) -> Iterator[EventRecorder]:
        with handlers_replaced({kind: self.handle for kind in EventKind}):
            yield self


async def applied(db: Database) -> list[dict[str, Any]]:
    """The payloads of every application recorded so far, oldest first."""
    async with db.read() as session:
        rows = await session.scalars(
            select(OutboxEvent.payload)
            .where(OutboxEvent.event_type == APPLIED)
            .order_by(OutboxEvent.sequence)
        )
        return list(rows)
