from __future__ import annotations

from collections.abc import Awaitable, Callable

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import run_mutation
from schema.ids import input_id
from schema.permissions import IsAuthenticated
from schema.waitlist.inputs import JoinWaitlistInput
from schema.waitlist.types import WaitlistEntry, WaitlistEntryPayload
from server.clock import utcnow
from server.waitlist import service
from server.waitlist.entries import EntryView


async def _payload(
    info: Info, work: Callable[[AsyncSession], Awaitable[EntryView]]
) -> WaitlistEntryPayload:
    view, errors = await run_mutation(info, work)
    return WaitlistEntryPayload(
        entry=WaitlistEntry.from_view(view) if view else None, errors=errors
    )


@strawberry.type
class WaitlistMutations:
    @strawberry.mutation(
        description="Join a sold-out ticket type's waitlist for one date (signed in, or a "
        "guest with an email). Freed tickets are offered in the order entries joined."
    )
    async def join_waitlist(self, info: Info, input: JoinWaitlistInput) -> WaitlistEntryPayload:
        actor = info.context.actor
        ticket_type_id = input_id(input.ticket_type_id, "ticketTypeId")
        occurrence_id = (
            input_id(input.occurrence_id, "occurrenceId") if input.occurrence_id else None
        )
        return await _payload(
            info,
            lambda s: service.join_waitlist(
                s,
                actor=actor,
                ticket_type_id=ticket_type_id,
                occurrence_id=occurrence_id,
                quantity=input.quantity if input.quantity is not None else 1,
                email=input.email,
                now=utcnow(),
            ),
        )

    @strawberry.mutation(
        description="Leave a waitlist (the buyer's own entry; a guest's entry by its id). "
        "An offer the entry held passes to the next in line."
    )
    async def leave_waitlist(self, info: Info, id: strawberry.ID) -> WaitlistEntryPayload:
        actor, entry_id = info.context.actor, input_id(id, "id")
        return await _payload(
            info,
            lambda s: service.leave_waitlist(s, actor=actor, entry_id=entry_id, now=utcnow()),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Take an entry off the waitlist (managers and owners).",
    )
    async def remove_waitlist_entry(self, info: Info, id: strawberry.ID) -> WaitlistEntryPayload:
        actor, entry_id = info.context.actor, input_id(id, "id")
        return await _payload(
            info,
            lambda s: service.remove_entry(s, actor=actor, entry_id=entry_id, now=utcnow()),
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Offer tickets to a waiting entry now, out of turn (managers and owners): "
        "from units kept for the waitlist, else from sale.",
    )
    async def offer_waitlist_entry(self, info: Info, id: strawberry.ID) -> WaitlistEntryPayload:
        actor, entry_id = info.context.actor, input_id(id, "id")
        return await _payload(
            info,
            lambda s: service.offer_entry(s, actor=actor, entry_id=entry_id, now=utcnow()),
        )
