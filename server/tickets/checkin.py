"""Check-in at the gate: a scanner (staff and up of the event's organization, or an API
key with `checkin:write`) presents a ticket's QR payload for an occurrence.

Exactly one of several simultaneous scans of one ticket succeeds: each inserts a
check-in row with ON CONFLICT DO NOTHING against the unique (ticket, occurrence)
constraint, so PostgreSQL lets one insert through and makes the others wait for it to
commit, then reports that they inserted nothing; they answer ALREADY_CHECKED_IN with the
winner's time. In the same transaction the ticket moves VALID -> USED by a conditional
UPDATE, so a transfer or cancellation that committed meanwhile undoes the check-in.

Concurrent scans share a transaction (group commit, see `server.tickets.scanning`): the
batch finds its tickets in one query, asks each scanner's access once, admits with one
statement and appends its outbox events with another."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ARRAY, Text, Uuid, any_, bindparam, delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.attributes import set_committed_value

from server.auth.actor import Actor
from server.errors import AccessError, DomainError, Unauthenticated
from server.events.models import Event, EventOccurrence, EventStatus
from server.ids import new_id
from server.organizations.access import Grant, Permission, authorize
from server.outbox.service import emit_many
from server.replicas.positions import note_callers
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
    """The admitted ticket and its check-in; or, for a ticket admitted before, the ticket
    and `already` (the scanner shows the attendee when and where)."""

    ticket: Ticket
    check_in: CheckIn | None
    already: AlreadyCheckedIn | None = None


@dataclass(frozen=True, slots=True)
class Scan:
    """One scan at the gate: the scanner, the QR payload, and where and for which date."""

    actor: Actor
    qr_code: str
    occurrence_id: uuid.UUID | None
    location: str | None


Outcome = CheckInResult | DomainError | AccessError
REFUSALS = (DomainError, AccessError)


async def check_in_many(
    session: AsyncSession, scans: Sequence[Scan], *, signing_key: bytes, now: datetime
) -> list[Outcome]:
    """Decide a batch of scans in one transaction, each as it would be alone in arrival
    order: several scans of one ticket and date admit the first and answer the others
    ALREADY_CHECKED_IN with its time; a scan of a ticket admitted by another transaction
    waits for it (the unique constraint) and answers the same."""
    outcomes: list[Outcome | None] = [None] * len(scans)
    claims: dict[int, qr.QrClaims] = {}
    for n, scan in enumerate(scans):
        try:
            if scan.actor.is_anonymous:
                raise Unauthenticated()
            claims[n] = qr.verify_issued(scan.qr_code.strip(), signing_key=signing_key)
        except qr.ForgedCode:
            outcomes[n] = NotAValidTicket(field="qrCode")
        except REFUSALS as error:
            outcomes[n] = error
    codes = sorted({scans[n].qr_code.strip() for n in claims})
    ids = sorted({c.ticket_id for c in claims.values()})
    found = {
        ticket.qr_payload: (ticket, status)
        for ticket, status in (
            await session.execute(FIND_BY_CODES, {"ids": ids, "codes": codes})
        ).all()
    }
    grants: dict[tuple[object, uuid.UUID], Grant | BaseException] = {}
    admitted: list[tuple[int, CheckIn]] = []
    first_of: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for n in sorted(claims):
        scan = scans[n]
        try:
            ticket, event_status = found.get(scan.qr_code.strip(), (None, None))
            if ticket is None or ticket.id != claims[n].ticket_id:
                raise TicketNotFound(field="qrCode")
            grant = await _grant(session, grants, scan.actor, ticket.organization_id)
            target = scan.occurrence_id or ticket.occurrence_id
            if target != ticket.occurrence_id:
                await _refuse_other_occurrence(session, ticket, target)
            if ticket.status is TicketStatus.CANCELLED or event_status is EventStatus.CANCELLED:
                raise TicketCancelled(field="qrCode")
            if ticket.status is TicketStatus.TRANSFERRED:
                raise TicketTransferred(field="qrCode")
        except REFUSALS as error:
            outcomes[n] = error
            continue
        place = (scan.location or "").strip()[:MAX_LOCATION] or None
        record = CheckIn(
            id=new_id(),
            ticket_id=ticket.id,
            occurrence_id=target,
            organization_id=ticket.organization_id,
            at=now,
            location=place,
            scanned_by_user_id=scan.actor.user_id,
            scanned_by_api_key_id=grant.api_key_id,
        )
        winner = first_of.get((ticket.id, target))
        if winner is not None:  # the same ticket twice in this batch: the first admits it
            first = dict(admitted)[winner]
            outcomes[n] = _already(ticket, first.at, first.location)
            continue
        first_of[(ticket.id, target)] = n
        admitted.append((n, record))
    if admitted:
        await _admit(session, scans, admitted, outcomes, found, now)
    again = sorted(
        {o.ticket.id for o in outcomes if isinstance(o, CheckInResult) and o.already is not None}
    )
    if again:  # admitted by another transaction since they were read: as they are now
        await session.execute(
            select(Ticket).where(Ticket.id.in_(again)).execution_options(populate_existing=True)
        )
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]


async def _admit(
    session: AsyncSession,
    scans: Sequence[Scan],
    admitted: list[tuple[int, CheckIn]],
    outcomes: list[Outcome | None],
    found: dict[str, tuple[Ticket, EventStatus]],
    now: datetime,
) -> None:
    """Insert the check-ins unless one exists for the ticket and date, and move each
    admitted ticket VALID -> USED; a ticket that changed meanwhile (a transfer, a refund)
    takes its check-in back."""
    records = [record for _, record in admitted]
    inserted = {
        row.ticket_id
        for row in await session.execute(
            ADMIT_MANY,
            {c: [getattr(r, c) for r in records] for c in ADMITTED_COLUMNS},
        )
    }
    used = set()
    if inserted:
        used = set(
            (
                await session.scalars(
                    update(Ticket)
                    .where(Ticket.id.in_(sorted(inserted)), Ticket.status == TicketStatus.VALID)
                    .values(status=TicketStatus.USED, used_at=now)
                    .returning(Ticket.id)
                )
            ).all()
        )
    undone = sorted(inserted - used)
    if undone:
        await session.execute(
            delete(CheckIn).where(CheckIn.id.in_([r.id for r in records if r.ticket_id in undone]))
        )
    earlier = (
        {
            (row.ticket_id, row.occurrence_id): row
            for row in await session.execute(
                select(
                    CheckIn.ticket_id, CheckIn.occurrence_id, CheckIn.at, CheckIn.location
                ).where(CheckIn.ticket_id.in_(sorted({r.ticket_id for r in records} - inserted)))
            )
        }
        if len(inserted) < len(records)
        else {}
    )
    events = []
    for n, record in admitted:
        ticket, _ = found[scans[n].qr_code.strip()]
        if record.ticket_id not in inserted:
            first = earlier[(record.ticket_id, record.occurrence_id)]  # committed, so visible
            outcomes[n] = _already(ticket, first.at, first.location)
        elif record.ticket_id not in used:
            outcomes[n] = TicketNotValid(field="qrCode")
        else:
            set_committed_value(ticket, "status", TicketStatus.USED)
            set_committed_value(ticket, "used_at", now)
            outcomes[n] = CheckInResult(ticket=ticket, check_in=record)
            events.append(
                (
                    "ticket.checkedin",
                    ticket.organization_id,
                    {
                        "ticketId": str(ticket.id),
                        "checkInId": str(record.id),
                        "eventId": str(ticket.event_id),
                        "occurrenceId": str(record.occurrence_id),
                        "ticketTypeId": str(ticket.ticket_type_id),
                        "at": now.isoformat(),
                        "location": record.location,
                    },
                )
            )
    await emit_many(session, events)
    # One transaction for several scanners: each reads their check-ins at once.
    note_callers(session, [scans[n].actor for n, _ in admitted])


def _already(ticket: Ticket, first_at: datetime, location: str | None) -> CheckInResult:
    refusal = AlreadyCheckedIn(ticket_id=ticket.id, first_at=first_at, location=location)
    return CheckInResult(ticket=ticket, check_in=None, already=refusal)


async def _grant(
    session: AsyncSession,
    grants: dict[tuple[object, uuid.UUID], Grant | BaseException],
    actor: Actor,
    organization_id: uuid.UUID,
) -> Grant:
    """`authorize` for CHECKIN, asked once per scanner and organization of a batch."""
    key = ((actor.user_id, actor.api_key_id), organization_id)
    if key not in grants:
        try:
            grants[key] = await authorize(
                session,
                actor,
                organization_id,
                Permission.CHECKIN,
                not_found=TicketNotFound(field="qrCode"),
            )
        except REFUSALS as refused:
            grants[key] = refused
    decided = grants[key]
    if isinstance(decided, BaseException):
        raise decided
    return decided


# Insert each check-in unless its ticket and date have one (the unique constraint decides
# between simultaneous scans in different transactions); returns the tickets inserted.
ADMIT_MANY = text(
    """
    INSERT INTO check_ins (id, ticket_id, occurrence_id, organization_id, at, location,
                           scanned_by_user_id, scanned_by_api_key_id)
    SELECT * FROM unnest(CAST(:id AS uuid[]), CAST(:ticket_id AS uuid[]),
                         CAST(:occurrence_id AS uuid[]), CAST(:organization_id AS uuid[]),
                         CAST(:at AS timestamptz[]), CAST(:location AS text[]),
                         CAST(:scanned_by_user_id AS uuid[]),
                         CAST(:scanned_by_api_key_id AS uuid[]))
    ORDER BY 2
    ON CONFLICT (ticket_id, occurrence_id) DO NOTHING
    RETURNING ticket_id
    """
)
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
# By the ids the signed codes name (their partitions, the primary key) and the whole codes,
# which only those tickets carry.
FIND_BY_CODES = (
    select(Ticket, Event.status)
    .join(Event, Event.id == Ticket.event_id)
    .where(
        Ticket.id == any_(bindparam("ids", type_=ARRAY(Uuid))),
        Ticket.qr_payload == any_(bindparam("codes", type_=ARRAY(Text))),
    )
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
