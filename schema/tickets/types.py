"""Tickets, check-ins and transfers. A `Ticket` is only ever built for a viewer allowed to
see it whole (its holder, or the organization's staff): the code paths that make one
(myTickets, the order's tickets loader, check-in, transfers) decide that first."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.context import Info
from schema.errors import UserError
from server.tickets.models import CheckIn as CheckInModel
from server.tickets.models import Ticket as TicketModel
from server.tickets.models import TicketStatus as TicketStatusModel
from server.tickets.models import TicketTransfer as TransferModel

if TYPE_CHECKING:
    from schema.events.types import Event, EventOccurrence
    from schema.ticketing.types import TicketType
    from schema.venues.types import Seat

TicketStatus = strawberry.enum(TicketStatusModel, name="TicketStatus")

OccurrenceType = Annotated["EventOccurrence", strawberry.lazy("schema.events.types")]


@strawberry.type
class CheckIn:
    id: strawberry.ID
    at: datetime
    location: str | None
    model: strawberry.Private[CheckInModel]

    @classmethod
    def from_model(cls, model: CheckInModel) -> CheckIn:
        return cls(
            id=strawberry.ID(str(model.id)), at=model.at, location=model.location, model=model
        )

    @strawberry.field
    async def occurrence(self, info: Info) -> OccurrenceType:
        from schema.orders.loaders import occurrence_of

        found = await occurrence_of(info, self.model.occurrence_id)
        assert found is not None  # check-ins are deleted with their occurrence
        return found


@strawberry.type
class Ticket:
    id: strawberry.ID
    status: TicketStatus  # type: ignore[valid-type]
    holder_email: str
    qr_code: str = strawberry.field(
        description="The signed payload to encode in the ticket's QR code (images: "
        "GET /tickets/{id}/qr.svg or .png)."
    )
    issued_at: datetime
    model: strawberry.Private[TicketModel]

    @classmethod
    def from_model(cls, model: TicketModel) -> Ticket:
        return cls(
            id=strawberry.ID(str(model.id)),
            status=model.status,
            holder_email=model.holder_email,
            qr_code=model.qr_payload,
            issued_at=model.issued_at,
            model=model,
        )

    @strawberry.field
    async def ticket_type(
        self, info: Info
    ) -> Annotated[TicketType, strawberry.lazy("schema.ticketing.types")]:
        from schema.ticketing.loaders import ticket_type_of

        return await ticket_type_of(info, self.model.ticket_type_id)

    @strawberry.field
    async def occurrence(self, info: Info) -> OccurrenceType | None:
        from schema.orders.loaders import occurrence_of

        return await occurrence_of(info, self.model.occurrence_id)

    @strawberry.field
    async def event(self, info: Info) -> Annotated[Event, strawberry.lazy("schema.events.types")]:
        from schema.orders.loaders import event_of

        return await event_of(info, self.model.event_id)

    @strawberry.field(description="The seat, for a seated ticket type.")
    async def seat(
        self, info: Info
    ) -> Annotated[Seat, strawberry.lazy("schema.venues.types")] | None:
        from schema.orders.loaders import EventSeatByIdLoader
        from schema.venues.types import Seat

        if self.model.event_seat_id is None:
            return None
        found = await info.context.loader(EventSeatByIdLoader).load(self.model.event_seat_id)
        return Seat.from_model(found) if found is not None else None

    @strawberry.field
    async def check_ins(self, info: Info) -> list[CheckIn]:
        from schema.tickets.loaders import CheckInsByTicketLoader

        rows = await info.context.loader(CheckInsByTicketLoader).load(self.model.id)
        return [CheckIn.from_model(r) for r in rows]


@strawberry.type
class Transfer:
    id: strawberry.ID
    ticket: Ticket = strawberry.field(
        description="The ticket offered; once accepted, the recipient sees the new ticket."
    )
    recipient_email: str
    status: str = strawberry.field(description="PENDING, ACCEPTED or CANCELLED.")
    created_at: datetime
    expires_at: datetime = strawberry.field(description="When the offer lapses (the date starts).")
    accepted_at: datetime | None
    accept_token: str | None = strawberry.field(
        description="The secret the recipient accepts with (acceptTransfer); shown once, in "
        "the transferTicket payload, and also sent to the recipient by mail."
    )

    @classmethod
    def from_model(cls, model: TransferModel, ticket: TicketModel, token: str | None) -> Transfer:
        return cls(
            id=strawberry.ID(str(model.id)),
            ticket=Ticket.from_model(ticket),
            recipient_email=model.recipient_email,
            status=model.status.value.upper(),
            created_at=model.created_at,
            expires_at=model.expires_at,
            accepted_at=model.accepted_at,
            accept_token=token,
        )


@strawberry.type
class TransferPayload:
    transfer: Transfer | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class CheckInPayload:
    ticket: Ticket | None = None
    check_in: CheckIn | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
