"""Ticket types and price tiers: what an event sells, at what price, when."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.clock import utcnow
from server.errors import DomainError, InvalidState, Validator
from server.events.models import Event, EventOccurrence, EventSeat, EventStatus
from server.ids import new_id
from server.money import is_currency, to_minor
from server.ticketing.access import event_for_write, ticket_type_for_write
from server.ticketing.changes import event_changed, units_freed
from server.ticketing.errors import QuantityBelowAllocated, TierOverlap
from server.ticketing.inventory import create_inventory_for_ticket_type
from server.ticketing.models import Inventory, PriceTier, TicketType, Visibility
from server.waitlist import hooks as waitlist
from server.waitlist.settings import DEFAULT_OFFER_TTL, check_waitlist_settings

MAX_QUANTITY = 1_000_000
MAX_PER_ORDER = 1_000
CLOSED = (EventStatus.COMPLETED, EventStatus.CANCELLED)


@dataclass(frozen=True, slots=True)
class PriceInput:
    amount: Decimal
    currency: str


def _price(checks: Validator, price: PriceInput, field: str = "price") -> tuple[int, str] | None:
    currency = price.currency.strip().upper()
    if not is_currency(currency):
        checks.add(
            [field, "currency"], f"Unknown currency {price.currency!r}; use an ISO 4217 code."
        )
        return None
    try:
        return to_minor(price.amount, currency, field=[field, "amount"]), currency
    except DomainError as error:
        checks.errors.append(error)
        return None


async def _event_currency(
    session: AsyncSession, event_id: uuid.UUID, exclude: uuid.UUID | None
) -> str | None:
    query = select(TicketType.currency).where(TicketType.event_id == event_id)
    if exclude is not None:
        query = query.where(TicketType.id != exclude)
    return await session.scalar(query.limit(1))


async def _last_end(session: AsyncSession, event_id: uuid.UUID) -> datetime | None:
    return await session.scalar(
        select(func.max(EventOccurrence.ends_at)).where(EventOccurrence.event_id == event_id)
    )


def _check_window(
    checks: Validator,
    sales_start: datetime | None,
    sales_end: datetime | None,
    last_end: datetime | None,
) -> None:
    if sales_start is not None and sales_end is not None and sales_end <= sales_start:
        checks.add("salesEnd", "Sales must end after they start.")
    if last_end is not None:
        if sales_start is not None and sales_start >= last_end:
            checks.add("salesStart", "Sales would start after the last date of the event.")
        if sales_end is not None and sales_end > last_end:
            checks.add("salesEnd", "Sales cannot end after the last date of the event.")


async def _check_sections(
    session: AsyncSession,
    checks: Validator,
    event: Event,
    sections: Sequence[str],
    quantity: int | None,
) -> None:
    if not sections:
        return
    if event.seatmap_id is None:
        checks.add("sections", "This event has no seatmap; seated ticket types need one.")
        return
    rows = await session.execute(
        select(EventSeat.section, func.count())
        .where(EventSeat.event_id == event.id, EventSeat.section.in_(sections))
        .group_by(EventSeat.section)
    )
    counts = {section: int(count) for section, count in rows}
    unknown = sorted(set(sections) - set(counts))
    if unknown:
        checks.add("sections", f"Unknown sections: {', '.join(unknown)}.")
    elif quantity is not None and quantity > sum(counts.values()):
        checks.add("quantity", f"These sections have only {sum(counts.values())} seats.")


async def create_ticket_type(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: uuid.UUID,
    name: str,
    price: PriceInput,
    quantity: int,
    min_per_order: int = 1,
    max_per_order: int = 10,
    max_per_buyer: int | None = None,
    sales_start: datetime | None = None,
    sales_end: datetime | None = None,
    visibility: Visibility = Visibility.PUBLIC,
    sections: Sequence[str] = (),
    description: str | None = None,
    waitlist_enabled: bool = False,
    waitlist_offer_ttl: int | None = None,
) -> TicketType:
    event, _ = await event_for_write(session, actor, event_id)
    if event.status in CLOSED:
        raise InvalidState(
            f"The event is {event.status.value}; it sells nothing more.", field="eventId"
        )
    checks = Validator()
    clean_name = name.strip()
    checks.check(0 < len(clean_name) <= 200, "name", "Enter a name (up to 200 characters).")
    checks.check(
        0 < quantity <= MAX_QUANTITY, "quantity", f"The quantity must be 1 to {MAX_QUANTITY}."
    )
    checks.check(min_per_order >= 1, "minPerOrder", "The minimum per order is at least 1.")
    checks.check(
        min_per_order <= max_per_order <= MAX_PER_ORDER,
        "maxPerOrder",
        f"The maximum per order must be between the minimum and {MAX_PER_ORDER}.",
    )
    checks.check(
        max_per_buyer is None or max_per_buyer >= min_per_order,
        "maxPerBuyer",
        "The limit per buyer must allow at least one order.",
    )
    priced = _price(checks, price)
    existing = await _event_currency(session, event.id, None)
    if priced is not None and existing is not None and priced[1] != existing:
        checks.add(
            ["price", "currency"],
            f"This event sells in {existing}; every ticket type uses one currency.",
        )
    _check_window(checks, sales_start, sales_end, await _last_end(session, event.id))
    await _check_sections(session, checks, event, sections, quantity)
    check_waitlist_settings(
        checks, enabled=waitlist_enabled, offer_ttl=waitlist_offer_ttl, sections=sections
    )
    checks.raise_if_any()
    assert priced is not None

    position = await session.scalar(
        select(func.count()).select_from(TicketType).where(TicketType.event_id == event.id)
    )
    ticket_type = TicketType(
        id=new_id(),
        event_id=event.id,
        organization_id=event.organization_id,
        name=clean_name,
        description=description,
        price_minor=priced[0],
        currency=priced[1],
        quantity=quantity,
        min_per_order=min_per_order,
        max_per_order=max_per_order,
        max_per_buyer=max_per_buyer,
        sales_start=sales_start,
        sales_end=sales_end,
        visibility=visibility,
        sections=sorted(set(sections)),
        position=int(position or 0),
        waitlist_enabled=waitlist_enabled,
        waitlist_offer_ttl=waitlist_offer_ttl or DEFAULT_OFFER_TTL,
    )
    session.add(ticket_type)
    await session.flush()
    await create_inventory_for_ticket_type(
        session, event_id=event.id, ticket_type_id=ticket_type.id, quantity=quantity
    )
    event_changed(session, event.id)
    return ticket_type


async def update_ticket_type(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_type_id: uuid.UUID,
    name: str | None = None,
    price: PriceInput | None = None,
    quantity: int | None = None,
    max_per_order: int | None = None,
    sales_start: datetime | None = None,
    sales_end: datetime | None = None,
    visibility: Visibility | None = None,
    waitlist_enabled: bool | None = None,
    waitlist_offer_ttl: int | None = None,
) -> TicketType:
    ticket_type, event = await ticket_type_for_write(session, actor, ticket_type_id, field="id")
    if event.status in CLOSED:
        raise InvalidState(
            f"The event is {event.status.value}; its ticket types are final.", field="id"
        )
    checks = Validator()
    if name is not None:
        checks.check(0 < len(name.strip()) <= 200, "name", "Enter a name (up to 200 characters).")
    if quantity is not None:
        checks.check(
            0 < quantity <= MAX_QUANTITY, "quantity", f"The quantity must be 1 to {MAX_QUANTITY}."
        )
    if max_per_order is not None:
        checks.check(
            ticket_type.min_per_order <= max_per_order <= MAX_PER_ORDER,
            "maxPerOrder",
            f"The maximum per order must be between the minimum and {MAX_PER_ORDER}.",
        )
    priced = _price(checks, price) if price is not None else None
    if priced is not None and priced[1] != ticket_type.currency:
        other = await _event_currency(session, event.id, ticket_type.id)
        tiers = await session.scalar(
            select(func.count())
            .select_from(PriceTier)
            .where(PriceTier.ticket_type_id == ticket_type.id)
        )
        if other is not None or tiers:
            checks.add(
                ["price", "currency"],
                f"This event sells in {ticket_type.currency}; keep that currency.",
            )
    new_start = sales_start if sales_start is not None else ticket_type.sales_start
    new_end = sales_end if sales_end is not None else ticket_type.sales_end
    _check_window(checks, new_start, new_end, await _last_end(session, event.id))
    if quantity is not None and ticket_type.sections:
        await _check_sections(session, checks, event, ticket_type.sections, quantity)
    check_waitlist_settings(
        checks,
        enabled=bool(waitlist_enabled),
        offer_ttl=waitlist_offer_ttl,
        sections=ticket_type.sections,
    )
    checks.raise_if_any()

    if quantity is not None and quantity != ticket_type.quantity:
        await _set_quantity(session, ticket_type, quantity)
    if name is not None:
        ticket_type.name = name.strip()
    if priced is not None:
        ticket_type.price_minor, ticket_type.currency = priced
    if max_per_order is not None:
        ticket_type.max_per_order = max_per_order
    ticket_type.sales_start, ticket_type.sales_end = new_start, new_end
    if visibility is not None:
        ticket_type.visibility = visibility
    if waitlist_enabled is not None:
        ticket_type.waitlist_enabled = waitlist_enabled
    if waitlist_offer_ttl is not None:
        ticket_type.waitlist_offer_ttl = waitlist_offer_ttl
    await session.flush()
    event_changed(session, event.id)
    return ticket_type


async def _set_quantity(session: AsyncSession, ticket_type: TicketType, quantity: int) -> None:
    """Every occurrence's row takes the new quantity; the never-oversold check refuses a
    quantity below what any date has sold, reserved and held."""
    try:
        async with session.begin_nested():
            rows = await session.execute(
                update(Inventory)
                .where(Inventory.ticket_type_id == ticket_type.id)
                .values(quantity=quantity)
                .returning(Inventory.id, Inventory.event_id, Inventory.occurrence_id)
            )
            dates = rows.all()
    except IntegrityError:
        floor = await session.scalar(
            select(func.max(Inventory.sold + Inventory.reserved + Inventory.held)).where(
                Inventory.ticket_type_id == ticket_type.id
            )
        )
        raise QuantityBelowAllocated(
            f"The quantity cannot drop below {floor}: "
            "that many are already sold, reserved or held.",
            field="quantity",
        ) from None
    if quantity > ticket_type.quantity:
        for inventory_id, event_id, occurrence_id in sorted(dates):
            units_freed(session, event_id, occurrence_id, ticket_type.id)
            await waitlist.keep_freed_units(
                session,
                inventory_id=inventory_id,
                quantity=quantity - ticket_type.quantity,
                now=utcnow(),
            )
    ticket_type.quantity = quantity


async def create_price_tier(
    session: AsyncSession,
    *,
    actor: Actor,
    ticket_type_id: uuid.UUID,
    name: str,
    price: PriceInput,
    starts_at: datetime | None,
    ends_at: datetime | None,
    max_quantity: int | None,
) -> TicketType:
    ticket_type, event = await ticket_type_for_write(session, actor, ticket_type_id)
    if event.status in CLOSED:
        raise InvalidState(
            f"The event is {event.status.value}; its prices are final.", field="ticketTypeId"
        )
    checks = Validator()
    checks.check(0 < len(name.strip()) <= 100, "name", "Enter a name (up to 100 characters).")
    priced = _price(checks, price)
    if priced is not None and priced[1] != ticket_type.currency:
        checks.add(
            ["price", "currency"],
            f"Tier prices must be in the ticket type's currency ({ticket_type.currency}).",
        )
    if starts_at is not None and ends_at is not None and ends_at <= starts_at:
        checks.add("endsAt", "A tier must end after it starts.")
    checks.check(
        max_quantity is None or max_quantity > 0,
        "maxQuantity",
        "The tier quantity must be positive.",
    )
    checks.check(
        max_quantity is None or max_quantity <= ticket_type.quantity,
        "maxQuantity",
        "A tier cannot hold more tickets than the ticket type.",
    )
    checks.raise_if_any()
    assert priced is not None
    tier = PriceTier(
        id=new_id(),
        ticket_type_id=ticket_type.id,
        name=name.strip(),
        price_minor=priced[0],
        currency=priced[1],
        starts_at=starts_at,
        ends_at=ends_at,
        max_quantity=max_quantity,
    )
    try:
        async with session.begin_nested():
            session.add(tier)
            await session.flush()
    except IntegrityError as error:
        if "excl_price_tiers_no_overlap" in str(error.orig):
            raise TierOverlap(field="startsAt") from None
        raise
    event_changed(session, event.id)
    return ticket_type


async def visible_ticket_types(
    session: AsyncSession, *, event_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[TicketType]]:
    rows = (
        await session.scalars(
            select(TicketType)
            .where(TicketType.event_id.in_(event_ids))
            .order_by(TicketType.position, TicketType.created_at, TicketType.id)
        )
    ).all()
    result: dict[uuid.UUID, list[TicketType]] = {}
    for row in rows:
        result.setdefault(row.event_id, []).append(row)
    return result
