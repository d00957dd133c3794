"""What the webhook shim tests look at: stored events, straight from PostgreSQL."""

from __future__ import annotations

from sqlalchemy import select

from server.db import Database
from server.payments.models import PaymentEvent


async def stored_events(db: Database) -> list[PaymentEvent]:
    async with db.read() as session:
        return list(await session.scalars(select(PaymentEvent).order_by(PaymentEvent.received_at)))
