"""Tickets: issued when an order is confirmed, cancelled when it is refunded or cancelled,
listed for their holders. Check-in lives in `checkin.py`, transfers in `transfers.py`."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.events.models import EventOccurrence
from server.ids import derived_id
from server.orders.models import Order, OrderItem
from server.tickets import keys, qr
from server.tickets.access import Viewer, held_by, viewer_of
from server.tickets.errors import TicketNotFound
from server.tickets.models import ISSUE_ORDER, Ticket, TicketStatus, TicketTransfer, TransferStatus


def new_ticket(
    *,
    ticket_id: uuid.UUID,
    organization_id: uuid.UUID,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID,
    order_id: uuid.UUID,
    order_item_id: uuid.UUID,
    position: int,
    ticket_type_id: uuid.UUID,
    event_seat_id: uuid.UUID | None,
    holder_user_id: uuid.UUID | None,
    holder_email: str,
    now: datetime,
    signing_key: bytes,
    transferred_from_id: uuid.UUID | None = None,
) -> Ticket:
    """A VALID ticket with a fresh serial and its signed QR payload (not yet added)."""
    serial = qr.new_serial()
    payload = qr.sign(
        qr.QrClaims(ticket_id, event_id, occurrence_id, serial), signing_key=signing_key
    )
    return Ticket(
        id=ticket_id,
        organization_id=organization_id,
        event_id=event_id,
        occurrence_id=occurrence_id,
        order_id=order_id,
        order_item_id=order_item_id,
        position=position,
        ticket_type_id=ticket_type_id,
        event_seat_id=event_seat_id,
        holder_user_id=holder_user_id,
        holder_email=holder_email,
        status=TicketStatus.VALID,
        serial=serial,
        qr_payload=payload,
        transferred_from_id=transferred_from_id,
        issued_at=now,
    )


def admission_id(order_id: uuid.UUID, order_item_id: uuid.UUID, position: int) -> uuid.UUID:
    """The id of the ticket first issued for admission `position` of an order item: the
    same whoever issues it (a second issue conflicts on the primary key), in the order's
    month (the order's partition, docs/partitioning.md)."""
    return derived_id(order_id, order_item_id.bytes + position.to_bytes(4, "big"))


async def tickets_of_order(session: AsyncSession, order_id: uuid.UUID) -> list[Ticket]:
    rows = await session.scalars(
        select(Ticket).where(Ticket.order_id == order_id).order_by(*ISSUE_ORDER)
    )
    return list(rows)


async def issue_tickets(
    session: AsyncSession,
    *,
    order: Order,
    items: Sequence[OrderItem],
    now: datetime,
    signing_key: bytes | None = None,
) -> list[Ticket]:
    """One VALID ticket per admission of a confirmed order (one per seat for seated
    items), held by the buyer. Called inside the transaction that confirms the order.

    Idempotent: an order that already has tickets gets them back and nothing new. (Each
    admission's ticket id is fixed, `admission_id`: if two callers race, the primary key
    lets one through.)"""
    existing = await tickets_of_order(session, order.id)
    if existing:
        return existing
    key = signing_key or keys.signing_key()
    tickets: list[Ticket] = []
    for item in items:
        if item.order_id != order.id:
            raise ValueError(f"order item {item.id} belongs to another order")
        seats: list[uuid.UUID | None] = list(item.seat_ids or []) or [None] * item.quantity
        for position, seat_id in enumerate(seats):
            tickets.append(
                new_ticket(
                    ticket_id=admission_id(order.id, item.id, position),
                    organization_id=order.organization_id,
                    event_id=order.event_id,
                    occurrence_id=order.occurrence_id,
                    order_id=order.id,
                    order_item_id=item.id,
                    position=position,
                    ticket_type_id=item.ticket_type_id,
                    event_seat_id=seat_id,
                    holder_user_id=order.buyer_user_id,
                    holder_email=order.buyer_email,
                    now=now,
                    signing_key=key,
                )
            )
    session.add_all(tickets)
    await session.flush()
    return tickets


async def cancel_tickets_for_order(
    session: AsyncSession, *, order_id: uuid.UUID, now: datetime
) -> int:
    """A confirmed order refunded in full or cancelled: every VALID ticket becomes
    CANCELLED (its code stops working at the gate) and pending transfers of the order's
    tickets are withdrawn. Used tickets stay USED. Returns how many were cancelled."""
    cancelled = (
        await session.scalars(
            update(Ticket)
            .where(Ticket.order_id == order_id, Ticket.status == TicketStatus.VALID)
            .values(status=TicketStatus.CANCELLED, cancelled_at=now)
            .returning(Ticket.id)
        )
    ).all()
    await session.execute(
        update(TicketTransfer)
        .where(
            TicketTransfer.ticket_id.in_(select(Ticket.id).where(Ticket.order_id == order_id)),
            TicketTransfer.status == TransferStatus.PENDING,
        )
        .values(status=TransferStatus.CANCELLED, cancelled_at=now)
    )
    return len(cancelled)


async def my_tickets(session: AsyncSession, *, actor: Actor) -> list[Ticket]:
    """Every ticket the signed-in user holds (or held: used, transferred, cancelled),
    including guest tickets bought with their email; soonest date first."""
    user_id = actor.require_user()
    viewer: Viewer = await viewer_of(session, actor)
    rows = await session.scalars(
        select(Ticket)
        .join(EventOccurrence, EventOccurrence.id == Ticket.occurrence_id)
        .where(held_by(user_id, viewer.email))
        .order_by(EventOccurrence.starts_at, *ISSUE_ORDER)
    )
    return list(rows)


async def ticket_for_viewer(session: AsyncSession, *, actor: Actor, ticket_id: uuid.UUID) -> Ticket:
    """The ticket, if the actor holds it or is staff of its organization; anyone else
    (signed in or not) gets TicketNotFound, as for a ticket that does not exist."""
    ticket = await session.get(Ticket, ticket_id)
    if ticket is None or actor.is_anonymous:
        raise TicketNotFound(field="id")
    viewer = await viewer_of(session, actor)
    if not viewer.may_see(ticket):
        raise TicketNotFound(field="id")
    return ticket
