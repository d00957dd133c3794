from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from schema.ticketing.types import Availability
from server.clock import utcnow
from server.ticketing.queries import event_availability


@strawberry.type
class TicketingQueries:
    @strawberry.field(description="What is left of each ticket type, per date.")
    async def ticket_availability(
        self,
        info: Info,
        event_id: strawberry.ID,
        occurrence_id: strawberry.ID | None = None,
        hold_token: str | None = None,
    ) -> list[Availability]:
        event = require_id(event_id, "eventId")
        occurrence = require_id(occurrence_id, "occurrenceId") if occurrence_id else None
        rows = await run_query(
            info,
            lambda s: event_availability(
                s,
                actor=info.context.actor,
                event_id=event,
                occurrence_id=occurrence,
                hold_token=hold_token,
                now=utcnow(),
            ),
        )
        return [Availability.from_row(r) for r in rows]
