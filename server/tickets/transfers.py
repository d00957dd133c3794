"""Ticket transfers: the holder offers a ticket to an email address; whoever signs in with
that address and presents the offer's token accepts it.

Acceptance retires the old ticket (TRANSFERRED: its QR payload is refused at the gate
from then on) and issues a new VALID ticket with a fresh serial and QR payload to the
recipient, so the sender's copy of the code is worthless and the history stays.

Locks are taken ticket first, then transfer, everywhere (here and in
`cancel_tickets_for_order`), so a transfer and a refund of one ticket never deadlock."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.emails import validate_email
from server.auth.models import User
from server.errors import Forbidden, InvalidState, ValidationError
from server.events.models import Event, EventOccurrence, EventStatus
from server.ids import new_id
from server.mail.notices import TransferInvitation
from server.mail.service import queue_notice
from server.outbox.service import emit
from server.ticketing.models import TicketType
from server.tickets.access import viewer_of
from server.tickets.errors import (
    TicketCancelled,
    TicketNotFound,
    TicketTransferred,
    TooLate,
    TransferClosed,
    TransferExpired,
    TransferNotFound,
    TransferPending,
    TransfersNotAllowed,
)
from server.tickets.models import Ticket, TicketStatus, TicketTransfer, TransferStatus
from server.tickets.service import new_ticket

TOKEN_BYTES = 32


@dataclass(frozen=True, slots=True)
class TransferResult:
    transfer: TicketTransfer
    ticket: Ticket  # the offered ticket; after acceptance, the recipient's new one
    token: str | None = None  # only when the offer is made


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _refuse_unless_transferable(ticket: Ticket) -> None:
    if ticket.status is TicketStatus.USED:
        raise InvalidState("This ticket has already been used.", field="ticketId")
    if ticket.status is TicketStatus.CANCELLED:
        raise TicketCancelled(field="ticketId")
    if ticket.status is TicketStatus.TRANSFERRED:
        raise TicketTransferred(field="ticketId")


async def transfer_ticket(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_id: uuid.UUID,
    recipient_email: str,
    now: datetime,
) -> TransferResult:
    """Offer the ticket to `recipient_email` (its holder only; the event must allow
    transfers and the date must not have started). The invitation mail carries the
    token; the result carries it too, for the sender to share the link another way."""
    user_id = actor.require_user()
    ticket = await session.get(Ticket, ticket_id, with_for_update=True)
    viewer = await viewer_of(session, actor)
    if ticket is None or not viewer.may_see(ticket):
        raise TicketNotFound(field="ticketId")
    if not viewer.holds(ticket):
        raise Forbidden("Only the ticket's holder can transfer it.")
    email = validate_email(recipient_email, "recipientEmail")
    if email == ticket.holder_email.lower() or email == viewer.email:
        raise ValidationError("You already hold this ticket.", field="recipientEmail")
    event = await session.get(Event, ticket.event_id)
    occurrence = await session.get(EventOccurrence, ticket.occurrence_id)
    assert event is not None and occurrence is not None
    if not event.transfer_allowed:
        raise TransfersNotAllowed(field="ticketId")
    if event.status is EventStatus.CANCELLED:
        raise InvalidState("The event is cancelled.", field="ticketId")
    _refuse_unless_transferable(ticket)
    if now >= occurrence.starts_at:
        raise TooLate(field="ticketId")

    token = secrets.token_urlsafe(TOKEN_BYTES)
    transfer = TicketTransfer(
        id=new_id(),
        ticket_id=ticket.id,
        organization_id=ticket.organization_id,
        from_user_id=user_id,
        recipient_email=email,
        token_hash=token_hash(token),
        status=TransferStatus.PENDING,
        expires_at=occurrence.starts_at,
    )
    try:
        async with session.begin_nested():
            session.add(transfer)
            await session.flush()
    except IntegrityError as error:
        if "uq_ticket_transfers_pending" in str(error.orig):
            raise TransferPending(field="ticketId") from None
        raise
    await _invite(session, transfer, ticket, event, occurrence, token)
    return TransferResult(transfer=transfer, ticket=ticket, token=token)


async def _invite(
    session: AsyncSession,
    transfer: TicketTransfer,
    ticket: Ticket,
    event: Event,
    occurrence: EventOccurrence,
    token: str,
) -> None:
    sender = await session.scalar(select(User.name).where(User.id == transfer.from_user_id))
    ticket_type = await session.scalar(
        select(TicketType.name).where(TicketType.id == ticket.ticket_type_id)
    )
    queue_notice(
        session,
        TransferInvitation(
            transfer_id=str(transfer.id),
            to=transfer.recipient_email,
            sender_name=sender or ticket.holder_email,
            event_name=event.title,
            ticket_type=ticket_type or "Ticket",
            token=token,
            starts_at=occurrence.starts_at,
            expires_at=transfer.expires_at,
        ),
    )


async def accept_transfer(
    session: AsyncSession,
    *,
    actor: Actor,
    token: str,
    signing_key: bytes,
    now: datetime,
) -> TransferResult:
    user_id = actor.require_user()
    found = await session.scalar(
        select(TicketTransfer).where(TicketTransfer.token_hash == token_hash(token.strip()))
    )
    if found is None:
        raise TransferNotFound(field="token")
    ticket = await session.get(Ticket, found.ticket_id, with_for_update=True)
    transfer = await session.get(
        TicketTransfer, found.id, with_for_update=True, populate_existing=True
    )
    assert ticket is not None and transfer is not None
    viewer = await viewer_of(session, actor)
    if viewer.email != transfer.recipient_email:
        raise Forbidden(
            "This transfer was offered to another email address; sign in with that one."
        )
    if transfer.status is not TransferStatus.PENDING:
        raise TransferClosed(field="token")
    if now >= transfer.expires_at:
        raise TransferExpired(field="token")
    _refuse_unless_transferable(ticket)

    successor = new_ticket(
        ticket_id=new_id(),
        organization_id=ticket.organization_id,
        event_id=ticket.event_id,
        occurrence_id=ticket.occurrence_id,
        order_id=ticket.order_id,
        order_item_id=ticket.order_item_id,
        position=ticket.position,
        ticket_type_id=ticket.ticket_type_id,
        event_seat_id=ticket.event_seat_id,
        holder_user_id=user_id,
        holder_email=transfer.recipient_email,
        now=now,
        signing_key=signing_key,
        transferred_from_id=ticket.id,
    )
    session.add(successor)
    ticket.status = TicketStatus.TRANSFERRED
    transfer.status = TransferStatus.ACCEPTED
    transfer.accepted_at = now
    transfer.accepted_by_user_id = user_id
    await session.flush()
    transfer.new_ticket_id = successor.id
    await session.flush()
    await emit(
        session,
        "ticket.transferred",
        organization_id=ticket.organization_id,
        payload={
            "ticketId": str(ticket.id),
            "newTicketId": str(successor.id),
            "transferId": str(transfer.id),
            "eventId": str(ticket.event_id),
            "occurrenceId": str(ticket.occurrence_id),
            "ticketTypeId": str(ticket.ticket_type_id),
            "fromEmail": ticket.holder_email,
            "toEmail": transfer.recipient_email,
            "at": now.isoformat(),
        },
    )
    return TransferResult(transfer=transfer, ticket=successor)


async def cancel_transfer(
    session: AsyncSession, *, actor: Actor, transfer_id: uuid.UUID, now: datetime
) -> TransferResult:
    """The sender withdraws a pending offer; its token stops working."""
    user_id = actor.require_user()
    found = await session.get(TicketTransfer, transfer_id)
    if found is None or found.from_user_id != user_id:
        raise TransferNotFound(field="id")
    ticket = await session.get(Ticket, found.ticket_id, with_for_update=True)
    transfer = await session.get(
        TicketTransfer, found.id, with_for_update=True, populate_existing=True
    )
    assert ticket is not None and transfer is not None
    if transfer.status is not TransferStatus.PENDING:
        raise TransferClosed(field="id")
    transfer.status = TransferStatus.CANCELLED
    transfer.cancelled_at = now
    await session.flush()
    return TransferResult(transfer=transfer, ticket=ticket)
