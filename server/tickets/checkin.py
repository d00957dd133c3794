"""Check-in at the gate: a scanner (staff and up of the event's organization, or an API
key with `checkin:write`) presents a ticket's QR payload for an occurrence.

Exactly one of several simultaneous scans of one ticket succeeds: each inserts a
check-in row with ON CONFLICT DO NOTHING against the unique (ticket, occurrence)
constraint, so PostgreSQL lets one insert through and makes the others wait for it to
commit, then reports that they inserted nothing; they answer ALREADY_CHECKED_IN with the
winner's time. The ticket then moves VALID -> USED in a conditional UPDATE, so a
transfer or cancellation that committed meanwhile undoes the check-in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import Unauthenticated
from server.events.models import Event, EventOccurrence, EventStatus
from server.ids import new_id
from server.organizations.access import Permission, authorize
from server.outbox.service import emit
from server.tickets import qr
from server.tickets.errors import (
    AlreadyCheckedIn,
    NotAValidTicket,
    OccurrenceNotFound,
    TicketCancelled,
    TicketNotFound,
    TicketNotValid,
    TicketTransferred,
    WrongEvent,
    WrongOccurrence,
)
from server.tickets.models import CheckIn, Ticket, TicketStatus

MAX_LOCATION = 200


@dataclass(frozen=True, slots=True)
class CheckInResult:
    ticket: Ticket
    check_in: CheckIn


async def check_in(
    session: AsyncSession,
    *,
    actor: Actor,
    qr_code: str,
    occurrence_id: uuid.UUID | None,
    location: str | None,
    signing_key: bytes,
    now: datetime,
) -> CheckInResult:
    if actor.is_anonymous:
        raise Unauthenticated()
    code = qr_code.strip()
    try:
        claims = qr.verify_issued(code, signing_key=signing_key)
    except qr.ForgedCode:
        raise NotAValidTicket(field="qrCode") from None
    found = (
        await session.execute(
            select(Ticket, Event.status)
            .join(Event, Event.id == Ticket.event_id)
            .where(Ticket.qr_payload == code)
        )
    ).one_or_none()
    if found is None or found[0].id != claims.ticket_id:
        raise TicketNotFound(field="qrCode")
    ticket, event_status = found
    grant = await authorize(
        session,
        actor,
        ticket.organization_id,
        Permission.CHECKIN,
        not_found=TicketNotFound(field="qrCode"),
    )
    target = occurrence_id or ticket.occurrence_id
    if target != ticket.occurrence_id:
        await _refuse_other_occurrence(session, ticket, target)
    if ticket.status is TicketStatus.CANCELLED or event_status is EventStatus.CANCELLED:
        raise TicketCancelled(field="qrCode")
    if ticket.status is TicketStatus.TRANSFERRED:
        raise TicketTransferred(field="qrCode")
    place = (location or "").strip()[:MAX_LOCATION] or None

    record = await session.scalar(
        insert(CheckIn)
        .values(
            id=new_id(),
            ticket_id=ticket.id,
            occurrence_id=target,
            organization_id=ticket.organization_id,
            at=now,
            location=place,
            scanned_by_user_id=actor.user_id,
            scanned_by_api_key_id=grant.api_key_id,
        )
        .on_conflict_do_nothing(index_elements=[CheckIn.ticket_id, CheckIn.occurrence_id])
        .returning(CheckIn)
    )
    if record is None:
        first = await session.scalar(
            select(CheckIn).where(CheckIn.ticket_id == ticket.id, CheckIn.occurrence_id == target)
        )
        assert first is not None  # the conflicting row is committed, hence visible
        raise AlreadyCheckedIn(ticket_id=ticket.id, first_at=first.at, location=first.location)
    used = await session.scalar(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == TicketStatus.VALID)
        .values(status=TicketStatus.USED, used_at=now)
        .returning(Ticket.id)
        .execution_options(synchronize_session="fetch")
    )
    if used is None:
        raise TicketNotValid(field="qrCode")
    await emit(
        session,
        "ticket.checkedin",
        organization_id=ticket.organization_id,
        payload={
            "ticketId": str(ticket.id),
            "checkInId": str(record.id),
            "eventId": str(ticket.event_id),
            "occurrenceId": str(target),
            "ticketTypeId": str(ticket.ticket_type_id),
            "at": now.isoformat(),
            "location": place,
        },
    )
    return CheckInResult(ticket=ticket, check_in=record)


async def _refuse_other_occurrence(
    session: AsyncSession, ticket: Ticket, occurrence_id: uuid.UUID
) -> None:
    """The scanner asked for another date than the ticket's: say how it differs, without
    revealing other organizations' occurrences."""
    row = (
        await session.execute(
            select(EventOccurrence.event_id, EventOccurrence.organization_id).where(
                EventOccurrence.id == occurrence_id
            )
        )
    ).one_or_none()
    if row is None or row.organization_id != ticket.organization_id:
        raise OccurrenceNotFound(field="occurrenceId")
    if row.event_id != ticket.event_id:
        raise WrongEvent(field="occurrenceId")
    raise WrongOccurrence(field="occurrenceId")
