from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError, run_mutation, user_errors
from schema.ids import input_id
from schema.tickets.inputs import CheckInInput, TransferTicketInput
from schema.tickets.loaders import TicketByIdLoader
from schema.tickets.types import CheckIn, CheckInPayload, Ticket, Transfer, TransferPayload
from server.clock import utcnow
from server.errors import DomainError, DomainErrors
from server.tickets import checkin, transfers
from server.tickets.errors import AlreadyCheckedIn


def _transfer_payload(
    result: transfers.TransferResult | None, errors: list[UserError]
) -> TransferPayload:
    if result is None:
        return TransferPayload(errors=errors)
    return TransferPayload(
        transfer=Transfer.from_model(result.transfer, result.ticket, result.token)
    )


@strawberry.type
class TicketMutations:
    @strawberry.mutation(
        description="Offer a ticket you hold to someone else, by email (where the event "
        "allows transfers, before the date starts). They accept with acceptTransfer."
    )
    async def transfer_ticket(self, info: Info, input: TransferTicketInput) -> TransferPayload:
        async def work(session: AsyncSession) -> transfers.TransferResult:
            return await transfers.transfer_ticket(
                session,
                actor=info.context.actor,
                ticket_id=input_id(input.ticket_id, "ticketId"),
                recipient_email=input.recipient_email,
                now=utcnow(),
            )

        result, errors = await run_mutation(info, work)
        return _transfer_payload(result, errors)

    @strawberry.mutation(
        description="Accept a ticket offered to the signed-in user's email: the ticket "
        "becomes theirs with a new QR code, and the sender's code stops working."
    )
    async def accept_transfer(self, info: Info, token: str) -> TransferPayload:
        async def work(session: AsyncSession) -> transfers.TransferResult:
            return await transfers.accept_transfer(
                session,
                actor=info.context.actor,
                token=token,
                signing_key=info.context.settings.ticket_signing_key,
                now=utcnow(),
            )

        result, errors = await run_mutation(info, work)
        return _transfer_payload(result, errors)

    @strawberry.mutation(description="Withdraw a transfer offer you made, before it is accepted.")
    async def cancel_transfer(self, info: Info, id: strawberry.ID) -> TransferPayload:
        async def work(session: AsyncSession) -> transfers.TransferResult:
            return await transfers.cancel_transfer(
                session, actor=info.context.actor, transfer_id=input_id(id, "id"), now=utcnow()
            )

        result, errors = await run_mutation(info, work)
        return _transfer_payload(result, errors)

    @strawberry.mutation(
        description="Admit a ticket at the gate (staff and up, or an API key with "
        "checkin:write). A ticket admitted before gets ALREADY_CHECKED_IN, with the first "
        "check-in in `ticket.checkIns`."
    )
    async def check_in(self, info: Info, input: CheckInInput) -> CheckInPayload:
        async def work(session: AsyncSession) -> checkin.CheckInResult:
            return await checkin.check_in(
                session,
                actor=info.context.actor,
                qr_code=input.qr_code,
                occurrence_id=(
                    input_id(input.occurrence_id, "occurrenceId")
                    if input.occurrence_id is not None
                    else None
                ),
                location=input.location,
                signing_key=info.context.settings.ticket_signing_key,
                now=utcnow(),
            )

        # Not run_mutation: a repeated scan is an error that still shows the ticket and
        # its first check-in, which the scanner needs to tell the attendee.
        try:
            async with info.context.db.transaction() as session:
                result = await work(session)
        except AlreadyCheckedIn as refused:
            ticket = await info.context.loader(TicketByIdLoader).load(refused.ticket_id)
            return CheckInPayload(
                ticket=Ticket.from_model(ticket) if ticket is not None else None,
                errors=user_errors(refused),
            )
        except (DomainError, DomainErrors) as exc:
            return CheckInPayload(errors=user_errors(exc))
        return CheckInPayload(
            ticket=Ticket.from_model(result.ticket), check_in=CheckIn.from_model(result.check_in)
        )
