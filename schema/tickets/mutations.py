from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError, mutate, run_mutation, user_errors
from schema.ids import input_id
from schema.tickets.inputs import CheckInInput, TransferTicketInput
from schema.tickets.types import CheckIn, CheckInPayload, Ticket, Transfer, TransferPayload
from server.clock import utcnow
from server.tickets import checkin, transfers


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
        ctx = info.context
        result, errors = await mutate(
            lambda: ctx.state.checkins.check_in(
                checkin.Scan(
                    actor=ctx.actor,
                    qr_code=input.qr_code,
                    occurrence_id=(
                        input_id(input.occurrence_id, "occurrenceId")
                        if input.occurrence_id is not None
                        else None
                    ),
                    location=input.location,
                )
            )
        )
        if result is None:
            return CheckInPayload(errors=errors)
        # A repeated scan still shows the ticket and its first check-in: the scanner tells
        # the attendee when and where.
        return CheckInPayload(
            ticket=Ticket.from_model(result.ticket),
            check_in=CheckIn.from_model(result.check_in) if result.check_in else None,
            errors=user_errors(result.already) if result.already else [],
        )
