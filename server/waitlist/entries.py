"""Joining, leaving and reading waitlists.

A buyer (signed in, or a guest with an email) joins the waitlist of a sold-out ticket type
for one date; one active entry per email and date. Entries are served in the order they
joined; `position` is 1 + the waiting entries ahead. An entry's id is a capability for
the guest who made it (as a guest order's id is): it reads and leaves the entry."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.emails import validate_email
from server.auth.models import User
from server.db import after_commit
from server.errors import Forbidden, Unauthenticated, ValidationError
from server.events.models import Event
from server.events.workflow import is_public
from server.ids import new_id
from server.organizations.access import Permission, authorize, readable_organization_ids
from server.ticketing.availability import SaleStatus, availability
from server.ticketing.errors import OccurrenceNotFound, TicketTypeNotFound
from server.ticketing.models import Hold, Inventory, TicketType, Visibility
from server.waitlist.errors import (
    AlreadyWaiting,
    EntryNotFound,
    NotJoinable,
    StillOnSale,
    TooMany,
    WaitlistDisabled,
)
from server.waitlist.models import ACTIVE_STATUSES, WaitlistEntry, WaitlistStatus
from server.waitlist.pool import WaitlistNudge

MAX_PAGE = 200


@dataclass(frozen=True, slots=True)
class EntryView:
    """An entry as one viewer sees it: the offer token only for its buyer and managers."""

    entry: WaitlistEntry
    position: int | None
    offer_token: str | None


@dataclass(frozen=True, slots=True)
class WaitlistChanged:
    """After-commit effect: an event's waitlist moved (joins, offers, leaves)."""

    event_id: uuid.UUID
    occurrence_id: uuid.UUID


def waitlist_changed(session: AsyncSession, entry: WaitlistEntry) -> None:
    after_commit(session, WaitlistChanged(entry.event_id, entry.occurrence_id))


async def _joiner(
    session: AsyncSession, actor: Actor, email: str | None, organization_id: uuid.UUID
) -> tuple[str, uuid.UUID | None]:
    if actor.user_id is not None:
        user = await session.get(User, actor.user_id)
        if user is None:
            raise Forbidden("This account no longer exists.")
        return user.email.lower(), user.id
    if actor.api_key_id is not None:
        await authorize(
            session,
            actor,
            organization_id,
            Permission.ORDERS_WRITE,
            not_found=TicketTypeNotFound(field="ticketTypeId"),
        )
    if not email:
        raise ValidationError("Sign in, or give the email to notify (email).", field="email")
    return validate_email(email, "email").lower(), None


async def _inventory_row(
    session: AsyncSession, ticket_type_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> Inventory:
    rows = list(
        await session.scalars(select(Inventory).where(Inventory.ticket_type_id == ticket_type_id))
    )
    if occurrence_id is not None:
        rows = [r for r in rows if r.occurrence_id == occurrence_id]
        if not rows:
            raise OccurrenceNotFound(field="occurrenceId")
    elif len(rows) != 1:
        raise ValidationError(
            "This event has several dates; say which one (occurrenceId).", field="occurrenceId"
        )
    return rows[0]


async def _visible_type(
    session: AsyncSession, actor: Actor, ticket_type_id: uuid.UUID
) -> tuple[TicketType, Event]:
    """The ticket type, if the caller may see it: a public event's public type, or any of
    its organization's for members. Otherwise the same answer as for a random id."""
    found = (
        await session.execute(
            select(TicketType, Event)
            .join(Event, Event.id == TicketType.event_id)
            .where(TicketType.id == ticket_type_id)
        )
    ).first()
    if found is None:
        raise TicketTypeNotFound(field="ticketTypeId")
    ticket_type, event = found
    hidden = ticket_type.visibility is Visibility.PRIVATE or not is_public(
        event.status, event.published_at
    )
    if hidden and event.organization_id not in await readable_organization_ids(
        session, actor, Permission.EVENTS_READ
    ):
        raise TicketTypeNotFound(field="ticketTypeId")
    return ticket_type, event


async def join_waitlist(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_type_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    quantity: int,
    email: str | None,
    now: datetime,
) -> EntryView:
    ticket_type, event = await _visible_type(session, actor, ticket_type_id)
    email, user_id = await _joiner(session, actor, email, event.organization_id)
    if not ticket_type.waitlist_enabled or ticket_type.sections:
        raise WaitlistDisabled(field="ticketTypeId")
    if quantity > ticket_type.max_per_order:
        raise TooMany(
            f"Ask for at most {ticket_type.max_per_order} (the most one order may hold).",
            field="quantity",
        )
    if quantity < max(1, ticket_type.min_per_order):
        raise ValidationError(
            f"Ask for at least {max(1, ticket_type.min_per_order)}.", field="quantity"
        )
    row = await _inventory_row(session, ticket_type.id, occurrence_id)
    state = next(
        r.status
        for r in await availability(
            session, now=now, ticket_type_ids=[ticket_type.id], occurrence_ids=[row.occurrence_id]
        )
    )
    if state is SaleStatus.ON_SALE:
        raise StillOnSale(field="ticketTypeId")
    if state is not SaleStatus.SOLD_OUT:
        raise NotJoinable(field="ticketTypeId")
    entry = WaitlistEntry(
        id=new_id(),
        organization_id=event.organization_id,
        event_id=event.id,
        ticket_type_id=ticket_type.id,
        occurrence_id=row.occurrence_id,
        inventory_id=row.id,
        email=email,
        user_id=user_id,
        quantity=quantity,
        status=WaitlistStatus.WAITING,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(entry)
            await session.flush()
    except IntegrityError:
        raise AlreadyWaiting(field="email") from None
    await session.refresh(entry)
    waitlist_changed(session, entry)
    # A release racing this join may have put units back on sale that this entry wants.
    after_commit(session, WaitlistNudge(row.id))
    return EntryView(entry, await position_of(session, entry), None)


async def position_of(session: AsyncSession, entry: WaitlistEntry) -> int | None:
    return (await positions(session, [entry])).get(entry.id)


async def positions(session: AsyncSession, entries: list[WaitlistEntry]) -> dict[uuid.UUID, int]:
    """1 + the waiting entries ahead, for each waiting entry (one query)."""
    waiting = [e.id for e in entries if e.status is WaitlistStatus.WAITING]
    if not waiting:
        return {}
    rows = await session.execute(
        text(
            """
            SELECT e.id, 1 + (
                SELECT count(*) FROM waitlist_entries w
                WHERE w.inventory_id = e.inventory_id AND w.status = 'waiting'
                  AND w.sequence < e.sequence
            ) AS position
            FROM waitlist_entries e WHERE e.id = ANY(:ids)
            """
        ),
        {"ids": waiting},
    )
    return {row.id: int(row.position) for row in rows}


async def tokens(session: AsyncSession, entries: list[WaitlistEntry]) -> dict[uuid.UUID, str]:
    """Offer tokens of the entries that hold an offer now."""
    holds = [e.hold_id for e in entries if e.hold_id and e.status is WaitlistStatus.OFFERED]
    if not holds:
        return {}
    rows = await session.execute(select(Hold.id, Hold.token).where(Hold.id.in_(holds)))
    by_hold = {hold_id: token for hold_id, token in rows}
    return {e.id: by_hold[e.hold_id] for e in entries if e.hold_id in by_hold}


async def views(
    session: AsyncSession, entries: list[WaitlistEntry], *, show_tokens: bool
) -> list[EntryView]:
    places = await positions(session, entries)
    offer_tokens = await tokens(session, entries) if show_tokens else {}
    return [EntryView(e, places.get(e.id), offer_tokens.get(e.id)) for e in entries]


def is_owner(actor: Actor, entry: WaitlistEntry, user_email: str | None) -> bool:
    if actor.user_id is not None:
        return entry.user_id == actor.user_id or entry.email == (user_email or "").lower()
    # A guest's entry id is its capability; signed-in buyers' entries need their sign-in.
    return actor.is_anonymous and entry.user_id is None


async def owned_entry(
    session: AsyncSession,
    actor: Actor,
    entry_id: uuid.UUID,
    *,
    lock: bool = False,
    members_read: bool = False,
) -> WaitlistEntry:
    """The entry if it is the actor's (or, with `members_read`, their organization's);
    otherwise the same answer as for a random id."""
    entry = await session.get(WaitlistEntry, entry_id, with_for_update=lock)
    user = await session.get(User, actor.user_id) if actor.user_id else None
    if entry is not None and is_owner(actor, entry, user.email if user else None):
        return entry
    if (
        entry is not None
        and members_read
        and entry.organization_id
        in await readable_organization_ids(session, actor, Permission.ORDERS_READ)
    ):
        return entry
    raise EntryNotFound(field="id")


async def get_entry(session: AsyncSession, *, actor: Actor, entry_id: uuid.UUID) -> EntryView:
    """The buyer's entry (offer token included), or one of the organization's for its
    members (the token only for managers and owners)."""
    entry = await owned_entry(session, actor, entry_id, members_read=True)
    user = await session.get(User, actor.user_id) if actor.user_id else None
    owner = is_owner(actor, entry, user.email if user else None)
    managers = await readable_organization_ids(session, actor, Permission.ORDERS_WRITE)
    return (await views(session, [entry], show_tokens=owner or entry.organization_id in managers))[
        0
    ]


async def my_entries(session: AsyncSession, *, actor: Actor) -> list[EntryView]:
    """The signed-in buyer's entries (and those made as a guest with the account's email),
    newest first."""
    user_id = actor.require_user()
    user = await session.get(User, user_id)
    assert user is not None
    entries = list(
        await session.scalars(
            select(WaitlistEntry)
            .where((WaitlistEntry.user_id == user_id) | (WaitlistEntry.email == user.email.lower()))
            .order_by(WaitlistEntry.created_at.desc(), WaitlistEntry.sequence.desc())
            .limit(MAX_PAGE)
        )
    )
    return await views(session, entries, show_tokens=True)


async def list_waitlist(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_type_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    status: WaitlistStatus | None,
    first: int,
    after: uuid.UUID | None,
    now: datetime,
) -> list[EntryView]:
    """A ticket type's waitlist in serving order, for the organization's members (staff
    read it; offer tokens only for managers and owners)."""
    if actor.is_anonymous:
        raise Unauthenticated()
    organization_id = await session.scalar(
        select(TicketType.organization_id).where(TicketType.id == ticket_type_id)
    )
    if organization_id is None:
        raise TicketTypeNotFound(field="ticketTypeId")
    await authorize(
        session,
        actor,
        organization_id,
        Permission.ORDERS_READ,
        not_found=TicketTypeNotFound(field="ticketTypeId"),
    )
    managers = organization_id in await readable_organization_ids(
        session, actor, Permission.ORDERS_WRITE
    )
    if not 0 < first <= MAX_PAGE:
        raise ValidationError(f"Ask for 1 to {MAX_PAGE} entries.", field="first")
    query = (
        select(WaitlistEntry)
        .where(WaitlistEntry.ticket_type_id == ticket_type_id)
        .order_by(WaitlistEntry.sequence)
        .limit(first)
    )
    if occurrence_id is not None:
        query = query.where(WaitlistEntry.occurrence_id == occurrence_id)
    if status is not None:
        query = query.where(WaitlistEntry.status == status)
    if after is not None:
        anchor = await session.scalar(
            select(WaitlistEntry.sequence).where(
                WaitlistEntry.id == after, WaitlistEntry.ticket_type_id == ticket_type_id
            )
        )
        if anchor is not None:
            query = query.where(WaitlistEntry.sequence > anchor)
    return await views(session, list(await session.scalars(query)), show_tokens=managers)


async def waiting_count(
    session: AsyncSession, *, event_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> int:
    """Entries still waiting (the analytics' `waitlisted`)."""
    query = select(func.count()).where(
        WaitlistEntry.event_id == event_id, WaitlistEntry.status == WaitlistStatus.WAITING
    )
    if occurrence_id is not None:
        query = query.where(WaitlistEntry.occurrence_id == occurrence_id)
    return int(await session.scalar(query) or 0)


def is_active(entry: WaitlistEntry) -> bool:
    return entry.status in ACTIVE_STATUSES
