from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.errors import UserError
from server.waitlist.entries import EntryView
from server.waitlist.models import WaitlistEntry as WaitlistEntryModel
from server.waitlist.models import WaitlistStatus as WaitlistStatusModel

if TYPE_CHECKING:
    from schema.events.types import EventOccurrence
    from schema.ticketing.types import TicketType

WaitlistStatus = strawberry.enum(
    WaitlistStatusModel,
    name="WaitlistStatus",
    description="WAITING in line; OFFERED tickets (a hold, until offerExpiresAt); ACCEPTED "
    "(an order drew on the offer); EXPIRED (the offer ran out, or sales ended); LEFT.",
)


@strawberry.type
class WaitlistEntry:
    id: strawberry.ID
    status: WaitlistStatus  # type: ignore[valid-type]
    position: int | None = strawberry.field(
        description="1 + the waiting entries ahead; null unless WAITING."
    )
    quantity: int
    email: str
    offer_token: str | None = strawberry.field(
        description="Redeem as createOrder's holdToken, signed in or with this entry's email; "
        "shown to the buyer and to managers."
    )
    offer_expires_at: datetime | None
    created_at: datetime
    model: strawberry.Private[WaitlistEntryModel]

    @classmethod
    def from_view(cls, view: EntryView) -> WaitlistEntry:
        entry = view.entry
        return cls(
            id=strawberry.ID(str(entry.id)),
            status=entry.status,
            position=view.position,
            quantity=entry.quantity,
            email=entry.email,
            offer_token=view.offer_token,
            offer_expires_at=entry.offer_expires_at,
            created_at=entry.created_at,
            model=entry,
        )

    @strawberry.field
    async def ticket_type(
        self, info: Info
    ) -> Annotated[TicketType, strawberry.lazy("schema.ticketing.types")]:
        from schema.ticketing.loaders import ticket_type_of

        return await ticket_type_of(info, self.model.ticket_type_id)

    @strawberry.field
    async def occurrence(
        self, info: Info
    ) -> Annotated[EventOccurrence, strawberry.lazy("schema.events.types")] | None:
        from schema.orders.loaders import occurrence_of

        return await occurrence_of(info, self.model.occurrence_id)


@strawberry.type
class WaitlistEntryPayload:
    entry: WaitlistEntry | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
