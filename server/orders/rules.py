"""The rules an order must meet before anything is reserved: its shape, the event being on
sale to this caller, and each line against its ticket type. Each rule is here once; the
order path applies them to every order it places."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import DomainError, Forbidden, NotFound, ValidationError, Validator
from server.events.errors import EventNotFound
from server.events.models import EventStatus
from server.events.workflow import is_public
from server.orders.context import SaleContext, TypeOnSale
from server.orders.errors import BuyerLimit, DateOver, NotOnSale, SalesClosed, SalesNotOpen
from server.orders.requests import Buyer, ItemRequest
from server.organizations.access import Permission, authorize, readable_organization_ids
from server.ticketing.errors import TicketTypeNotFound
from server.ticketing.models import Hold, Visibility

MAX_ITEMS = 20


def check_items_shape(items: Sequence[ItemRequest]) -> None:
    checks = Validator()
    checks.check(0 < len(items) <= MAX_ITEMS, "items", f"Order 1 to {MAX_ITEMS} ticket types.")
    seen: set[uuid.UUID] = set()
    for n, item in enumerate(items):
        checks.check(item.quantity > 0, ["items", str(n), "quantity"], "Order at least one ticket.")
        if item.ticket_type_id in seen:
            checks.add(
                ["items", str(n), "ticketTypeId"],
                "This ticket type is listed twice; combine the lines.",
            )
        seen.add(item.ticket_type_id)
    checks.raise_if_any()


async def check_sale(
    session: AsyncSession,
    sale: SaleContext | None,
    *,
    actor: Actor,
    buyer: Buyer,
    occurrence_id: uuid.UUID | None,
    items: Sequence[ItemRequest],
    now: datetime,
) -> SaleContext:
    """The event, date and ticket types of an order, checked: on sale, visible to the
    caller, one date, every ticket type of this event. Reads the database only for what
    is rare (a draft event, an API key's organization)."""
    if sale is None:
        raise EventNotFound(field="eventId")
    if sale.status is not EventStatus.PUBLISHED:
        if not is_public(sale.status, sale.published_at):
            readable = await readable_organization_ids(session, actor, Permission.EVENTS_READ)
            if sale.organization_id not in readable:
                raise EventNotFound(field="eventId")
        raise NotOnSale(f"This event is {sale.status.value}; it is not on sale.", field="eventId")
    if actor.api_key_id is not None:
        await authorize(
            session,
            actor,
            sale.organization_id,
            Permission.ORDERS_WRITE,
            not_found=EventNotFound(field="eventId"),
        )
    check_on_sale(sale, actor=actor, buyer=buyer, occurrence_id=occurrence_id, items=items, now=now)
    return sale


def check_on_sale(
    sale: SaleContext,
    *,
    actor: Actor,
    buyer: Buyer,
    occurrence_id: uuid.UUID | None,
    items: Sequence[ItemRequest],
    now: datetime,
) -> None:
    """The rules an order must meet against a published event, that need no database:
    guest checkout, one date that is not over, every ticket type of this event."""
    if buyer.user_id is None and actor.api_key_id is None and not sale.guest_checkout:
        raise Forbidden("This event sells to signed-in buyers only.")
    if not sale.occurrence_ids:
        if occurrence_id is not None:
            raise NotFound("No such date of this event.", field="occurrenceId")
        raise ValidationError("This event has no dates.", field="eventId")
    if len(sale.occurrence_ids) > 1:
        raise ValidationError(
            "This event has several dates; choose one (occurrenceId).", field="occurrenceId"
        )
    if sale.occurrence_ends_at is not None and sale.occurrence_ends_at <= now:
        raise DateOver(field="occurrenceId")
    missing = [n for n, i in enumerate(items) if i.ticket_type_id not in sale.types]
    if missing:
        raise TicketTypeNotFound(
            "No such ticket type for this event.", field=["items", str(missing[0]), "ticketTypeId"]
        )


def check_items(
    items: Sequence[ItemRequest],
    types: dict[uuid.UUID, TypeOnSale],
    hold: Hold | None,
    member: bool,
    now: datetime,
) -> None:
    """Each line against its ticket type: visible to this buyer (a private type needs a
    member of the organization or a hold of that type), on sale now, within the per-order
    limits, and seats exactly where the type is seated."""
    checks = Validator()
    for n, item in enumerate(items):
        kind = types[item.ticket_type_id]
        at = ["items", str(n)]
        held = hold is not None and hold.ticket_type_id == kind.id
        if kind.visibility is Visibility.PRIVATE and not (held or member):
            raise TicketTypeNotFound(
                "No such ticket type for this event.", field=[*at, "ticketTypeId"]
            )
        if not held and kind.sales_start is not None and now < kind.sales_start:
            raise SalesNotOpen(
                f"Sales open at {kind.sales_start.isoformat()}.", field=[*at, "ticketTypeId"]
            )
        if kind.sales_end is not None and now >= kind.sales_end:
            raise SalesClosed(field=[*at, "ticketTypeId"])
        if item.quantity < kind.min_per_order:
            raise DomainError(
                f"Order at least {kind.min_per_order} of {kind.name}.",
                field=[*at, "quantity"],
                code=BuyerLimit.code,
            )
        if item.quantity > kind.max_per_order:
            raise DomainError(
                f"Order at most {kind.max_per_order} of {kind.name}.",
                field=[*at, "quantity"],
                code=BuyerLimit.code,
            )
        if kind.sections:
            checks.check(
                len(item.seat_ids) == item.quantity, [*at, "seatIds"], "Choose one seat per ticket."
            )
        else:
            checks.check(
                not item.seat_ids,
                [*at, "seatIds"],
                "This ticket type is general admission; it has no seats.",
            )
    if hold is not None and all(i.ticket_type_id != hold.ticket_type_id for i in items):
        checks.add("holdToken", "This hold is for another ticket type.")
    checks.raise_if_any()
