from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query, run_query_or_none
from schema.permissions import IsUser
from schema.waitlist.types import WaitlistEntry, WaitlistStatus
from server.clock import utcnow
from server.waitlist import service


@strawberry.type
class WaitlistQueries:
    @strawberry.field(
        description="A ticket type's waitlist in serving order (the organization's members; "
        "offer tokens for managers and owners). Pass the last entry's id as `after`."
    )
    async def waitlist(
        self,
        info: Info,
        ticket_type_id: strawberry.ID,
        occurrence_id: strawberry.ID | None = None,
        first: int | None = 50,
        after: str | None = None,
        status: WaitlistStatus | None = None,  # type: ignore[valid-type]
    ) -> list[WaitlistEntry]:
        type_id = require_id(ticket_type_id, "ticketTypeId")
        occurrence = require_id(occurrence_id, "occurrenceId") if occurrence_id else None
        after_id = require_id(after, "after") if after else None
        actor = info.context.actor
        found = await run_query(
            info,
            lambda s: service.list_waitlist(
                s,
                actor=actor,
                ticket_type_id=type_id,
                occurrence_id=occurrence,
                status=status,
                first=50 if first is None else first,
                after=after_id,
                now=utcnow(),
            ),
        )
        return [WaitlistEntry.from_view(v) for v in found]

    @strawberry.field(
        permission_classes=[IsUser],
        description="Your waitlist entries (and those made as a guest with your email), "
        "newest first.",
    )
    async def my_waitlist_entries(self, info: Info) -> list[WaitlistEntry]:
        actor = info.context.actor
        found = await run_query(info, lambda s: service.my_entries(s, actor=actor))
        return [WaitlistEntry.from_view(v) for v in found]

    @strawberry.field(description="One entry: yours, or a guest's by its id.")
    async def waitlist_entry(self, info: Info, id: strawberry.ID) -> WaitlistEntry | None:
        entry_id, actor = require_id(id), info.context.actor
        found = await run_query_or_none(
            info, lambda s: service.get_entry(s, actor=actor, entry_id=entry_id)
        )
        return WaitlistEntry.from_view(found) if found else None
