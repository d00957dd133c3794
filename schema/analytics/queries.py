from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.analytics.types import EventAnalytics
from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from server.analytics.service import authorize_analytics, snapshot, summary


@strawberry.type
class AnalyticsQueries:
    @strawberry.field(
        description="An event's sales, money, check-ins and waitlist, or one date's (the "
        "organization's members; keys with orders:read)."
    )
    async def event_analytics(
        self, info: Info, event_id: strawberry.ID, occurrence_id: strawberry.ID | None = None
    ) -> EventAnalytics | None:
        event = require_id(event_id, "eventId")
        occurrence = require_id(occurrence_id, "occurrenceId") if occurrence_id else None
        actor = info.context.actor

        async def read(session: AsyncSession) -> EventAnalytics:
            await snapshot(session)
            scope = await authorize_analytics(
                session, actor=actor, event_id=event, occurrence_id=occurrence
            )
            return EventAnalytics.of(scope, await summary(session, scope))

        # The summary is read-heavy reporting: a replica may serve it (docs/scale.md).
        return await run_query(info, read, replica=True)
