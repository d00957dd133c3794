"""Read helpers other domains need from ticketing."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.ticketing.models import TicketType


async def ticket_type_count(session: AsyncSession, *, event_id: uuid.UUID) -> int:
    count = await session.scalar(
        select(func.count()).select_from(TicketType).where(TicketType.event_id == event_id)
    )
    return int(count or 0)
