from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.analytics.selection import minute_window
from schema.analytics.types import EventAnalytics
from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from server.analytics.jobs import keep_rollup_current
from server.analytics.service import authorize_analytics, read_analytics, snapshot


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
        window = minute_window(info)

        async def read(session: AsyncSession) -> EventAnalytics:
            await snapshot(session)
            scope = await authorize_analytics(
                session, actor=actor, event_id=event, occurrence_id=occurrence
            )
            return EventAnalytics.of(scope, await read_analytics(session, scope, window=window))

        # Read-heavy reporting: a replica may serve it (docs/scale.md); the whole answer,
        # its sales and checkIns included, is this one read.
        answer = await run_query(info, read, replica=True)
        await keep_rollup_current(info.context.state.queue, answer.scope.event.id, answer.figures)
        return answer
