from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query, run_query_or_empty
from schema.ticketing.types import Availability, SeatAvailability
from server.clock import utcnow
from server.ticketing.queries import event_availability, seat_states


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
            replica=True,
        )
        return [Availability.from_row(r) for r in rows]

    @strawberry.field(
        description="Every seat of a date's seatmap with its state (one query, any size)."
    )
    async def seat_availability(
        self, info: Info, occurrence_id: strawberry.ID, section: str | None = None
    ) -> list[SeatAvailability]:
        occurrence = require_id(occurrence_id, "occurrenceId")
        rows = await run_query_or_empty(
            info,
            lambda s: seat_states(
                s, actor=info.context.actor, occurrence_id=occurrence, section=section, now=utcnow()
            ),
            replica=True,
        )
        return [SeatAvailability.from_row(r) for r in rows]
