"""Event analytics, computed at read time from the orders, payments, refunds, check-ins and
waitlist tables, in one repeatable-read snapshot: the numbers agree with those tables
exactly, whenever they are read, and the order path pays nothing for them (no rollup row
that every buyer would have to update). See docs/analytics.md for the definitions and for
why this is fast enough at 200,000 orders.

Money (minor units, the event's currency):
- gross: face value of paid orders (confirmed or since refunded), before discounts;
- discounts, fees: of those orders; buyers paid gross - discounts + fees;
- refunds: refunds that succeeded; net = gross - discounts + fees - refunds, which is
  what the providers collected and kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import Unauthenticated
from server.events.errors import EventNotFound
from server.events.models import Event, EventOccurrence
from server.organizations.access import Permission, authorize
from server.ticketing.errors import OccurrenceNotFound

PAID = "('confirmed', 'refunded')"


class Interval(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class Scope:
    """What one analytics read covers: an event, or one of its dates."""

    event: Event
    occurrence_id: uuid.UUID | None

    @property
    def params(self) -> dict[str, object]:
        return {"event": self.event.id, "occurrence": self.occurrence_id}


@dataclass(frozen=True, slots=True)
class TypeSales:
    ticket_type_id: uuid.UUID
    sold: int
    reserved: int
    quantity: int
    gross: int


@dataclass(frozen=True, slots=True)
class Summary:
    currency: str
    orders_confirmed: int
    orders_pending: int
    orders_expired: int
    orders_cancelled: int
    orders_refunded: int
    tickets_sold: int
    tickets_reserved: int
    capacity: int
    checked_in: int
    waitlisted: int
    gross: int
    discounts: int
    fees: int
    refunds: int
    by_type: tuple[TypeSales, ...]

    @property
    def net(self) -> int:
        return self.gross - self.discounts + self.fees - self.refunds

    @property
    def sell_through(self) -> float:
        return self.tickets_sold / self.capacity if self.capacity else 0.0


@dataclass(frozen=True, slots=True)
class SalesPoint:
    at: datetime
    orders: int
    tickets: int
    gross: int
    refunds: int


@dataclass(frozen=True, slots=True)
class CheckInPoint:
    at: datetime
    check_ins: int


async def authorize_analytics(
    session: AsyncSession, *, actor: Actor, event_id: uuid.UUID, occurrence_id: uuid.UUID | None
) -> Scope:
    """Members of the event's organization (staff and up) and keys with orders:read."""
    if actor.is_anonymous:
        raise Unauthenticated()
    event = await session.get(Event, event_id)
    if event is None:
        raise EventNotFound(field="eventId")
    await authorize(
        session,
        actor,
        event.organization_id,
        Permission.ORDERS_READ,
        not_found=EventNotFound(field="eventId"),
    )
    if occurrence_id is not None:
        occurrence = await session.get(EventOccurrence, occurrence_id)
        if occurrence is None or occurrence.event_id != event.id:
            raise OccurrenceNotFound(field="occurrenceId")
    return Scope(event, occurrence_id)


async def snapshot(session: AsyncSession) -> None:
    """Every read after this sees one snapshot (call first in a fresh read session)."""
    await session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))


_ORDERS = text(
    f"""
    SELECT
      count(*) FILTER (WHERE status = 'confirmed') AS confirmed,
      count(*) FILTER (WHERE status = 'pending') AS pending,
      count(*) FILTER (WHERE status = 'cancelled' AND cancel_reason = 'expired') AS expired,
      count(*) FILTER (WHERE status = 'cancelled' AND cancel_reason IS DISTINCT FROM 'expired')
        AS cancelled,
      count(*) FILTER (WHERE status = 'refunded') AS refunded,
      coalesce(sum(subtotal_minor) FILTER (WHERE status IN {PAID}), 0) AS gross,
      coalesce(sum(discount_minor) FILTER (WHERE status IN {PAID}), 0) AS discounts,
      coalesce(sum(fees_minor) FILTER (WHERE status IN {PAID}), 0) AS fees
    FROM orders
    WHERE event_id = :event AND (CAST(:occurrence AS uuid) IS NULL OR occurrence_id = :occurrence)
    """  # noqa: S608 - PAID is a literal
)
_REFUNDS = text(
    """
    SELECT coalesce(sum(r.amount_minor), 0)
    FROM refunds r JOIN orders o ON o.id = r.order_id
    WHERE r.status = 'succeeded' AND o.event_id = :event
      AND (CAST(:occurrence AS uuid) IS NULL OR o.occurrence_id = :occurrence)
    """
)
_INVENTORY = text(
    """
    SELECT i.id, i.ticket_type_id, sum(i.sold) AS sold, sum(i.reserved) AS reserved,
           sum(i.quantity) AS quantity
    FROM inventory i JOIN ticket_types t ON t.id = i.ticket_type_id
    WHERE i.event_id = :event
      AND (CAST(:occurrence AS uuid) IS NULL OR i.occurrence_id = :occurrence)
    GROUP BY i.id, i.ticket_type_id, t.position, t.created_at
    ORDER BY t.position, t.created_at, i.ticket_type_id
    """
)
# Order items carry no event: they are found through the event's inventory rows.
_TYPE_GROSS = text(
    f"""
    SELECT i.ticket_type_id, sum(i.subtotal_minor) AS gross
    FROM order_items i JOIN orders o ON o.id = i.order_id
    WHERE i.inventory_id = ANY(:rows) AND o.status IN {PAID}
    GROUP BY i.ticket_type_id
    """  # noqa: S608 - PAID is a literal
)
_CHECKED_IN = text(
    """
    SELECT count(*) FROM check_ins c JOIN event_occurrences o ON o.id = c.occurrence_id
    WHERE o.event_id = :event AND (CAST(:occurrence AS uuid) IS NULL OR o.id = :occurrence)
    """
)
_WAITING = text(
    """
    SELECT count(*) FROM waitlist_entries
    WHERE event_id = :event AND status = 'waiting'
      AND (CAST(:occurrence AS uuid) IS NULL OR occurrence_id = :occurrence)
    """
)
_CURRENCY = text("SELECT min(currency) FROM ticket_types WHERE event_id = :event")


async def summary(session: AsyncSession, scope: Scope) -> Summary:
    params = scope.params
    orders = (await session.execute(_ORDERS, params)).one()
    inventory = list(await session.execute(_INVENTORY, params))
    rows = [r.id for r in inventory]
    gross_by_type: dict[uuid.UUID, int] = {}
    if rows:
        for type_id, gross in await session.execute(_TYPE_GROSS, {"rows": rows}):
            gross_by_type[type_id] = int(gross)
    by_type: dict[uuid.UUID, TypeSales] = {}
    for r in inventory:
        before = by_type.get(r.ticket_type_id)
        by_type[r.ticket_type_id] = TypeSales(
            ticket_type_id=r.ticket_type_id,
            sold=int(r.sold) + (before.sold if before else 0),
            reserved=int(r.reserved) + (before.reserved if before else 0),
            quantity=int(r.quantity) + (before.quantity if before else 0),
            gross=gross_by_type.get(r.ticket_type_id, 0),
        )
    types = tuple(by_type.values())
    return Summary(
        currency=str(await session.scalar(_CURRENCY, params) or "USD"),
        orders_confirmed=int(orders.confirmed),
        orders_pending=int(orders.pending),
        orders_expired=int(orders.expired),
        orders_cancelled=int(orders.cancelled),
        orders_refunded=int(orders.refunded),
        tickets_sold=sum(t.sold for t in types),
        tickets_reserved=sum(t.reserved for t in types),
        capacity=sum(t.quantity for t in types),
        checked_in=int(await session.scalar(_CHECKED_IN, params) or 0),
        waitlisted=int(await session.scalar(_WAITING, params) or 0),
        gross=int(orders.gross),
        discounts=int(orders.discounts),
        fees=int(orders.fees),
        refunds=int(await session.scalar(_REFUNDS, params) or 0),
        by_type=types,
    )


_SALES = text(
    f"""
    WITH sold AS (
      SELECT date_trunc(:unit, o.confirmed_at, 'UTC') AS at, count(*) AS orders,
             sum(o.subtotal_minor) AS gross, sum(x.tickets) AS tickets
      FROM orders o
      JOIN (SELECT order_id, sum(quantity) AS tickets FROM order_items
            WHERE inventory_id = ANY(:rows) GROUP BY order_id) x ON x.order_id = o.id
      WHERE o.event_id = :event AND o.status IN {PAID}
      GROUP BY 1
    ), refunded AS (
      SELECT date_trunc(:unit, r.updated_at, 'UTC') AS at, sum(r.amount_minor) AS refunds
      FROM refunds r JOIN orders o ON o.id = r.order_id
      WHERE r.status = 'succeeded' AND o.event_id = :event
        AND (CAST(:occurrence AS uuid) IS NULL OR o.occurrence_id = :occurrence)
      GROUP BY 1
    )
    SELECT coalesce(s.at, f.at) AS at, coalesce(s.orders, 0) AS orders,
           coalesce(s.tickets, 0) AS tickets, coalesce(s.gross, 0) AS gross,
           coalesce(f.refunds, 0) AS refunds
    FROM sold s FULL JOIN refunded f ON f.at = s.at
    WHERE (CAST(:from AS timestamptz) IS NULL OR coalesce(s.at, f.at) >= :from)
      AND (CAST(:to AS timestamptz) IS NULL OR coalesce(s.at, f.at) < :to)
    ORDER BY 1
    """  # noqa: S608 - PAID is a literal
)
_ROWS = text(
    "SELECT id FROM inventory WHERE event_id = :event "
    "AND (CAST(:occurrence AS uuid) IS NULL OR occurrence_id = :occurrence)"
)


async def sales(
    session: AsyncSession,
    scope: Scope,
    *,
    interval: Interval,
    start: datetime | None,
    end: datetime | None,
) -> list[SalesPoint]:
    """Orders, tickets and gross by when they were paid; refunds by when they succeeded
    (buckets in UTC, `start` inclusive, `end` exclusive)."""
    rows = list(await session.scalars(_ROWS, scope.params))
    if not rows:
        return []
    found = await session.execute(
        _SALES,
        {**scope.params, "rows": rows, "unit": interval.value, "from": start, "to": end},
    )
    return [
        SalesPoint(r.at, int(r.orders), int(r.tickets), int(r.gross), int(r.refunds)) for r in found
    ]


_CHECK_INS = text(
    """
    SELECT date_trunc(:unit, c.at, 'UTC') AS at, count(*) AS n
    FROM check_ins c JOIN event_occurrences o ON o.id = c.occurrence_id
    WHERE o.event_id = :event AND (CAST(:occurrence AS uuid) IS NULL OR o.id = :occurrence)
    GROUP BY 1 ORDER BY 1
    """
)


async def check_ins(
    session: AsyncSession, scope: Scope, *, interval: Interval
) -> list[CheckInPoint]:
    found = await session.execute(_CHECK_INS, {**scope.params, "unit": interval.value})
    return [CheckInPoint(r.at, int(r.n)) for r in found]
