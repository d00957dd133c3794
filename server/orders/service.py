"""Orders: create (reserve atomically), read, list, cancel."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import User
from server.auth.service import validate_email
from server.db import after_commit
from server.errors import DomainError, Forbidden, NotFound, ValidationError, Validator
from server.events.errors import EventNotFound
from server.events.models import EventStatus
from server.events.workflow import is_public
from server.ids import new_id
from server.orders import idempotency, lifecycle
from server.orders.context import SaleContext, TypeOnSale, sale_context
from server.orders.errors import (
    BuyerLimit,
    DateOver,
    NotOnSale,
    NotPending,
    OrderNotFound,
    SalesClosed,
    SalesNotOpen,
)
from server.orders.models import DisputeStatus, Order, OrderItem, OrderStatus
from server.orders.pricing import FeePolicy, Totals, compute_totals
from server.orders.soldout import SoldOutNotes
from server.organizations.access import Permission, authorize, readable_organization_ids
from server.outbox.service import emit
from server.ticketing import holds, inventory, seats
from server.ticketing.changes import OrderChanged, availability_changing, inventory_changed
from server.ticketing.errors import HoldExpired, HoldNotFound, SoldOut, TicketTypeNotFound
from server.ticketing.models import SeatState, Visibility
from server.ticketing.pricing import PriceLine, take_price_lines
from server.waitlist import hooks as waitlist

MAX_ITEMS = 20
ACTIVE = (OrderStatus.PENDING, OrderStatus.CONFIRMED)


@dataclass(frozen=True, slots=True)
class ItemRequest:
    ticket_type_id: uuid.UUID
    quantity: int
    seat_ids: Sequence[uuid.UUID] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Buyer:
    user_id: uuid.UUID | None
    email: str

    @property
    def key(self) -> str:
        return f"user:{self.user_id}" if self.user_id else f"email:{self.email}"


async def _buyer(session: AsyncSession, actor: Actor, buyer_email: str | None) -> Buyer:
    if actor.user_id is not None:
        user = await session.get(User, actor.user_id)
        if user is None:
            raise Forbidden("This account no longer exists.")
        return Buyer(user.id, user.email)
    if not buyer_email:
        raise ValidationError(
            "Sign in, or give the buyer's email (buyerEmail).", field="buyerEmail"
        )
    return Buyer(None, validate_email(buyer_email, "buyerEmail"))


def _scope(actor: Actor, buyer: Buyer) -> str:
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    if actor.api_key_id is not None:
        return f"key:{actor.api_key_id}"
    return f"guest:{buyer.email}"


async def create_order(
    session: AsyncSession,
    *,
    actor: Actor,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    items: Sequence[ItemRequest],
    promo_code: str | None,
    hold_token: str | None,
    idempotency_key: str | None,
    buyer_email: str | None,
    now: datetime,
    order_ttl: int,
    fees: FeePolicy,
    sold_out: SoldOutNotes | None = None,
) -> Order:
    buyer = await _buyer(session, actor, buyer_email)
    check_items_shape(items)
    type_ids = [i.ticket_type_id for i in items]
    key_id = None
    if idempotency_key is not None:
        request_hash = idempotency.fingerprint(
            {
                "event": event_id,
                "occurrence": occurrence_id,
                "items": sorted(
                    (str(i.ticket_type_id), i.quantity, sorted(map(str, i.seat_ids))) for i in items
                ),
                "promo": (promo_code or "").strip().lower(),
                "hold": hold_token,
                "buyer": buyer.email,
            }
        )
        key_id, earlier = await idempotency.claim(
            session,
            scope=_scope(actor, buyer),
            key=idempotency_key,
            operation="createOrder",
            request_hash=request_hash,
            now=now,
        )
        if earlier is not None:
            order = await session.get(Order, earlier)
            if order is not None:
                return order

    # After the idempotency lookup: a retry of an order that went through gets its order
    # back even once the ticket type has sold out.
    if (
        sold_out is not None
        and hold_token is None
        and await sold_out.any_noted(event_id, occurrence_id, type_ids)
    ):
        raise SoldOut(field=["items", "0", "quantity"])
    sale = await _sale(session, actor, buyer, event_id, occurrence_id, items, now)
    await availability_changing(session, sale.event_id)
    types = sale.types
    occurrence_id = next(iter(sale.occurrence_ids))
    hold = await _hold(session, hold_token, now) if hold_token else None
    if hold is not None:
        await waitlist.check_offer_redeemer(
            session, hold_id=hold.id, email=buyer.email, user_id=buyer.user_id
        )
    private = any(t.visibility is Visibility.PRIVATE for t in types.values())
    member = private and sale.organization_id in await readable_organization_ids(
        session, actor, Permission.EVENTS_READ
    )
    check_items(items, types, hold, member, now)
    await _check_buyer_limits(session, buyer, items, types)

    order_id = new_id()
    expires_at = now + timedelta(seconds=order_ttl)
    held = {hold.ticket_type_id} if hold is not None else set()
    claims = [
        inventory.Claim(
            types[i.ticket_type_id].inventory_id,
            i.quantity,
            hold_token if i.ticket_type_id in held else None,
        )
        for i in items
    ]
    fields = {
        types[item.ticket_type_id].inventory_id: ["items", str(n), "quantity"]
        for n, item in enumerate(items)
    }

    async def reserve() -> None:
        try:
            await inventory.take(session, claims, counter="reserved", now=now, fields=fields)
        except SoldOut as error:
            if sold_out is not None and error.field and len(items) == 1:
                await sold_out.note(event_id, occurrence_id, items[0].ticket_type_id)
            raise

    # The inventory row is the hot spot of a sale: every buyer of a ticket type waits for
    # its lock, which is held from the reservation until COMMIT. When nothing else this
    # order takes is locked (no tier, seat, hold or promo code rows, which must come after
    # inventory in the lock order), the reservation is the last statement before COMMIT,
    # so the lock is held for one statement instead of the whole order.
    reserve_last = (
        hold is None
        and not promo_code
        and not any(i.seat_ids for i in items)
        and not any(types[i.ticket_type_id].has_tiers for i in items)
    )
    if not reserve_last:
        await reserve()

    lines: list[tuple[ItemRequest, PriceLine]] = []
    for item in sorted(items, key=lambda i: i.ticket_type_id):
        kind = types[item.ticket_type_id]
        for line in await take_price_lines(
            session,
            ticket_type_id=kind.id,
            base_price=kind.price_minor,
            quantity=item.quantity,
            now=now,
            has_tiers=kind.has_tiers,
        ):
            lines.append((item, line))
    for n, item in enumerate(items):
        if not item.seat_ids:
            continue
        seat_field = ["items", str(n), "seatIds"]
        if hold is not None and item.ticket_type_id in held:
            await seats.reserve_held(
                session,
                hold_id=hold.id,
                seat_ids=item.seat_ids,
                order_id=order_id,
                expires_at=expires_at,
                field=seat_field,
            )
        else:
            await seats.allocate(
                session,
                occurrence_id=occurrence_id,
                ticket_type_id=item.ticket_type_id,
                seat_ids=item.seat_ids,
                state=SeatState.RESERVED,
                now=now,
                expires_at=expires_at,
                order_id=order_id,
                field=seat_field,
            )

    subtotal = sum(line.unit_price * line.quantity for _, line in lines)
    currency = next(iter(types.values())).currency
    discount, promo_code_id = 0, None
    if promo_code:
        from server.promotions.discounts import PricedLine
        from server.promotions.service import redeem_code

        redemption = await redeem_code(
            session,
            organization_id=sale.organization_id,
            event_id=sale.event_id,
            code=promo_code,
            buyer_key=buyer.key,
            lines=[
                PricedLine(item.ticket_type_id, line.unit_price, line.quantity)
                for item, line in lines
            ],
            currency=currency,
            order_id=order_id,
            now=now,
        )
        discount, promo_code_id = redemption.discount, redemption.code_id
    totals = compute_totals(subtotal=subtotal, discount=discount, policy=fees)

    order = new_order(
        order_id=order_id,
        sale=sale,
        occurrence_id=occurrence_id,
        buyer=buyer,
        currency=currency,
        totals=totals,
        promo_code_id=promo_code_id,
        hold_id=hold.id if hold else None,
        expires_at=expires_at,
        now=now,
    )
    await insert_orders(session, [order], order_items(order_id, lines, types, hold))
    if key_id is not None:
        await idempotency.record_result(session, key_id=key_id, order_id=order_id)
    await emit(
        session,
        "order.created",
        organization_id=order.organization_id,
        payload=lifecycle.order_payload(order),
    )
    if reserve_last:
        await reserve()
    inventory_changed(session, sale.event_id, occurrence_id, marked=True)
    after_commit(session, OrderChanged(order.id))
    if totals.total == 0:
        persisted = await session.get(Order, order_id)
        assert persisted is not None
        await lifecycle.confirm(session, order=persisted, now=now)
        return persisted
    return order


def new_order(
    *,
    order_id: uuid.UUID,
    sale: SaleContext,
    occurrence_id: uuid.UUID,
    buyer: Buyer,
    currency: str,
    totals: Totals,
    promo_code_id: uuid.UUID | None,
    hold_id: uuid.UUID | None,
    expires_at: datetime,
    now: datetime,
) -> Order:
    """A pending order, not yet stored (see `insert_orders`)."""
    return Order(
        id=order_id,
        organization_id=sale.organization_id,
        event_id=sale.event_id,
        occurrence_id=occurrence_id,
        buyer_user_id=buyer.user_id,
        buyer_email=buyer.email,
        status=OrderStatus.PENDING,
        currency=currency,
        subtotal_minor=totals.subtotal,
        discount_minor=totals.discount,
        platform_fee_minor=totals.platform_fee,
        provider_fee_minor=totals.provider_fee,
        fees_minor=totals.fees,
        total_minor=totals.total,
        refunded_minor=0,
        promo_code_id=promo_code_id,
        hold_id=hold_id,
        expires_at=expires_at,
        dispute_status=DisputeStatus.NONE,
        created_at=now,
        updated_at=now,
    )


async def insert_orders(
    session: AsyncSession, orders: Sequence[Order], items: Sequence[OrderItem]
) -> None:
    """Plain INSERTs (one statement per table, however many orders): this is the hot path
    of a flash sale, and the unit of work's bookkeeping would cost more than the rows."""
    await session.execute(insert(Order), [_columns(o) for o in orders])
    await session.execute(insert(OrderItem), [_columns(i) for i in items])


def _columns(row: Order | OrderItem) -> dict[str, object]:
    return {c.key: getattr(row, c.key) for c in row.__table__.columns if c.key in row.__dict__}


async def _sale(
    session: AsyncSession,
    actor: Actor,
    buyer: Buyer,
    event_id: uuid.UUID,
    occurrence_id: uuid.UUID | None,
    items: Sequence[ItemRequest],
    now: datetime,
) -> SaleContext:
    """The event, date and ticket types of an order, checked: on sale, visible to the
    caller, one date, every ticket type of this event."""
    sale = await sale_context(
        session,
        event_id=event_id,
        occurrence_id=occurrence_id,
        type_ids=[i.ticket_type_id for i in items],
    )
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


async def _hold(session: AsyncSession, token: str, now: datetime) -> holds.Hold:
    hold = await session.scalar(select(holds.Hold).where(holds.Hold.token == token))
    if hold is None:
        raise HoldNotFound("No hold has this token.", field="holdToken")
    if hold.released_at is not None or hold.expires_at <= now:
        raise HoldExpired(field="holdToken")
    return hold


def check_items(
    items: Sequence[ItemRequest],
    types: dict[uuid.UUID, TypeOnSale],
    hold: holds.Hold | None,
    member: bool,
    now: datetime,
) -> None:
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


async def _check_buyer_limits(
    session: AsyncSession,
    buyer: Buyer,
    items: Sequence[ItemRequest],
    types: dict[uuid.UUID, TypeOnSale],
) -> None:
    """Per-buyer limits hold under concurrent orders: the buyer's orders of a ticket type
    serialize on an advisory lock (taken first in the lock order) before counting."""
    limited = sorted(
        (i for i in items if types[i.ticket_type_id].max_per_buyer is not None),
        key=lambda i: i.ticket_type_id,
    )
    for item in limited:
        await session.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
            {"key": f"buyer-limit:{buyer.key}:{item.ticket_type_id}"},
        )
    for item in limited:
        limit = types[item.ticket_type_id].max_per_buyer
        assert limit is not None
        owner = (
            Order.buyer_user_id == buyer.user_id
            if buyer.user_id
            else Order.buyer_email == buyer.email
        )
        held = await session.scalar(
            select(func.coalesce(func.sum(OrderItem.quantity), 0))
            .join(Order, Order.id == OrderItem.order_id)
            .where(OrderItem.ticket_type_id == item.ticket_type_id, owner, Order.status.in_(ACTIVE))
        )
        if int(held or 0) + item.quantity > limit:
            raise BuyerLimit(
                f"At most {limit} of these per buyer; you already have {held}.",
                field=["items", str(list(items).index(item)), "quantity"],
            )


def order_items(
    order_id: uuid.UUID,
    lines: Sequence[tuple[ItemRequest, PriceLine]],
    types: dict[uuid.UUID, TypeOnSale],
    hold: holds.Hold | None,
) -> list[OrderItem]:
    """One order item per price line; a seated line gets its share of the item's seats."""
    result = []
    seats_left: dict[uuid.UUID, list[uuid.UUID]] = {
        i.ticket_type_id: sorted(i.seat_ids) for i, _ in lines
    }
    for item, line in lines:
        taken = seats_left[item.ticket_type_id][: line.quantity] if item.seat_ids else []
        seats_left[item.ticket_type_id] = seats_left[item.ticket_type_id][len(taken) :]
        result.append(
            OrderItem(
                id=new_id(),
                order_id=order_id,
                ticket_type_id=item.ticket_type_id,
                inventory_id=types[item.ticket_type_id].inventory_id,
                price_tier_id=line.tier_id,
                hold_id=hold.id
                if hold is not None and hold.ticket_type_id == item.ticket_type_id
                else None,
                quantity=line.quantity,
                unit_price_minor=line.unit_price,
                subtotal_minor=line.unit_price * line.quantity,
                seat_ids=taken,
            )
        )
    return result


# --- reading ---------------------------------------------------------------------------


async def may_read_order(session: AsyncSession, actor: Actor, order: Order) -> bool:
    if actor.user_id is not None and order.buyer_user_id == actor.user_id:
        return True
    if actor.is_anonymous:
        # A guest order is readable with its id (an unguessable capability).
        return order.buyer_user_id is None
    readable = await readable_organization_ids(session, actor, Permission.ORDERS_READ)
    return order.organization_id in readable


def visible_buyer_email(actor: Actor, order: Order) -> str:
    """The buyer's email as a reader of the order sees it. Signed-in readers passed
    `may_read_order` as the buyer or the organization and see all of it; an anonymous
    reader holds only a guest order's id, which may have been forwarded or leaked, so
    gets a hint the guest recognises and a stranger learns little from."""
    return order.buyer_email if not actor.is_anonymous else masked_email(order.buyer_email)


def masked_email(email: str) -> str:
    """ "ada@example.co.uk" -> "a***@e***.uk"."""
    local, _, domain = email.partition("@")
    labels = domain.split(".")
    tld = f".{labels[-1]}" if len(labels) > 1 else ""
    return f"{local[:1]}***@{domain[:1]}***{tld}"


async def get_order(session: AsyncSession, *, actor: Actor, order_id: uuid.UUID) -> Order:
    order = await session.get(Order, order_id)
    if order is None or not await may_read_order(session, actor, order):
        raise OrderNotFound(field="id")
    return order


async def list_my_orders(
    session: AsyncSession, *, actor: Actor, first: int, after: uuid.UUID | None
) -> list[Order]:
    """The signed-in buyer's orders (and guest orders placed with their email), newest
    first; `after` is the id of the last order of the previous page."""
    user_id = actor.require_user()
    user = await session.get(User, user_id)
    assert user is not None
    query = (
        select(Order)
        .where(
            (Order.buyer_user_id == user_id)
            | ((Order.buyer_user_id.is_(None)) & (Order.buyer_email == user.email))
        )
        .order_by(Order.created_at.desc(), Order.id.desc())
        .limit(first)
    )
    if after is not None:
        anchor = (
            await session.execute(select(Order.created_at, Order.id).where(Order.id == after))
        ).first()
        if anchor is not None:
            query = query.where(
                (Order.created_at < anchor.created_at)
                | ((Order.created_at == anchor.created_at) & (Order.id < anchor.id))
            )
    return list((await session.scalars(query)).all())


async def cancel_order(
    session: AsyncSession, *, actor: Actor, order_id: uuid.UUID, now: datetime
) -> Order:
    """The buyer (or the organization's managers) cancel a pending order; its units go
    back on sale at once."""
    order = await session.get(Order, order_id)
    if order is None or not await may_read_order(session, actor, order):
        raise OrderNotFound(field="id")
    is_buyer = (actor.user_id is not None and order.buyer_user_id == actor.user_id) or (
        actor.is_anonymous and order.buyer_user_id is None
    )
    if not is_buyer:
        await authorize(
            session,
            actor,
            order.organization_id,
            Permission.ORDERS_WRITE,
            not_found=OrderNotFound(field="id"),
        )
    if order.status is not OrderStatus.PENDING:
        raise NotPending(
            f"This order is {order.status.value}; only pending orders can be cancelled.", field="id"
        )
    reason = "buyer" if is_buyer else "organizer"
    if not await lifecycle.release_pending(session, order_id=order.id, now=now, reason=reason):
        raise NotPending("This order changed meanwhile; reload it.", field="id")
    await session.refresh(order)
    return order
