"""Check-in at the gate: a scanner (staff and up of the event's organization, or an API
key with `checkin:write`) presents a ticket's QR payload for an occurrence.

Exactly one of several simultaneous scans of one ticket succeeds: each inserts a
check-in row with ON CONFLICT DO NOTHING against the unique (ticket, occurrence)
constraint, so PostgreSQL lets one insert through and makes the others wait for it to
commit, then reports that they inserted nothing; they answer ALREADY_CHECKED_IN with the
winner's time. In the same statement the ticket moves VALID -> USED by a conditional
UPDATE, so a transfer or cancellation that committed meanwhile undoes the check-in."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, bindparam, exists, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

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
    found = (await session.execute(FIND_BY_CODE, {"qr_code": code})).one_or_none()
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
    record = CheckIn(
        id=new_id(),
        ticket_id=ticket.id,
        occurrence_id=target,
        organization_id=ticket.organization_id,
        at=now,
        location=place,
        scanned_by_user_id=actor.user_id,
        scanned_by_api_key_id=grant.api_key_id,
    )
    values = {f"new_{c}": getattr(record, c) for c in ADMITTED_COLUMNS}
    admitted, used = (await session.execute(ADMIT, values)).one()
    if admitted is None:
        first = (
            await session.execute(
                select(CheckIn.at, CheckIn.location).where(
                    CheckIn.ticket_id == ticket.id, CheckIn.occurrence_id == target
                )
            )
        ).one()  # the conflicting row is committed, hence visible
        raise AlreadyCheckedIn(ticket_id=ticket.id, first_at=first.at, location=first.location)
    if used is None:
        raise TicketNotValid(field="qrCode")
    set_committed_value(ticket, "status", TicketStatus.USED)
    set_committed_value(ticket, "used_at", now)
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


def _admit_statement() -> Select[uuid.UUID | None, uuid.UUID | None]:
    """One statement: insert the check-in unless one exists for this ticket and date (the
    unique constraint decides between simultaneous scans), and if it went in, move the
    ticket VALID -> USED. Returns (check-in id or None, ticket id or None). Built once,
    with bind parameters (named apart from the columns, which an UPDATE would otherwise
    take as values to set), so each scan only binds values."""
    admitted = (
        pg_insert(CheckIn)
        .values(
            id=bindparam("new_id"),
            ticket_id=bindparam("new_ticket_id"),
            occurrence_id=bindparam("new_occurrence_id"),
            organization_id=bindparam("new_organization_id"),
            at=bindparam("new_at"),
            location=bindparam("new_location"),
            scanned_by_user_id=bindparam("new_scanned_by_user_id"),
            scanned_by_api_key_id=bindparam("new_scanned_by_api_key_id"),
        )
        .on_conflict_do_nothing(index_elements=[CheckIn.ticket_id, CheckIn.occurrence_id])
        .returning(CheckIn.id)
        .cte("admitted")
    )
    used = (
        update(Ticket)
        .where(
            Ticket.id == bindparam("new_ticket_id"),
            Ticket.status == TicketStatus.VALID,
            exists(select(admitted.c.id)),
        )
        .values(status=TicketStatus.USED, used_at=bindparam("new_at"))
        .returning(Ticket.id)
        .cte("used")
    )
    return select(select(admitted.c.id).scalar_subquery(), select(used.c.id).scalar_subquery())


ADMIT = _admit_statement()
ADMITTED_COLUMNS = (
    "id",
    "ticket_id",
    "occurrence_id",
    "organization_id",
    "at",
    "location",
    "scanned_by_user_id",
    "scanned_by_api_key_id",
)
FIND_BY_CODE = (
    select(Ticket, Event.status)
    .join(Event, Event.id == Ticket.event_id)
    .where(Ticket.qr_payload == bindparam("qr_code"))
)


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
