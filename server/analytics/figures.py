"""An event's analytics read in one snapshot: the rollup up to its mark plus the facts
since, read live, plus the states that do change (orders pending, cancelled, refunded;
inventory counters; the waitlist). Everything the query and the subscription answer
(totals, by ticket type, sales and check-in series at any interval) is derived from one
`Figures`, so the totals and the series always agree.

Cost: the rollup rows of the event (one per date and hour with any fact), the facts since
the mark (minutes of them while the rollup is kept up), and index-only counts of the
orders that are not paid. Series by the minute are not in the rollup: they are read live
over the window asked for."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.analytics.facts import FACT_CTES, MARK
from server.analytics.results import CheckInPoint, Interval, SalesPoint, Summary, TypeSales


@dataclass(frozen=True, slots=True)
class Bucket:
    """One date's facts in one bucket (an hour, or a minute)."""

    occurrence_id: uuid.UUID
    at: datetime
    orders: int = 0
    tickets: int = 0
    gross: int = 0
    discounts: int = 0
    fees: int = 0
    refunds: int = 0
    check_ins: int = 0

    def __add__(self, other: Bucket) -> Bucket:
        return Bucket(
            self.occurrence_id,
            self.at,
            self.orders + other.orders,
            self.tickets + other.tickets,
            self.gross + other.gross,
            self.discounts + other.discounts,
            self.fees + other.fees,
            self.refunds + other.refunds,
            self.check_ins + other.check_ins,
        )


@dataclass(frozen=True, slots=True)
class TypeRow:
    """One ticket type on one date: inventory counters and paid face value."""

    occurrence_id: uuid.UUID
    sales: TypeSales


@dataclass(frozen=True, slots=True)
class States:
    """Orders of one date that are not (or no longer) simply paid, and who waits."""

    occurrence_id: uuid.UUID
    pending: int = 0
    expired: int = 0
    cancelled: int = 0
    refunded: int = 0
    waiting: int = 0


@dataclass(frozen=True, slots=True)
class Window:
    """The minutes a read loads: [start, end), either end open (None)."""

    start: datetime | None = None
    end: datetime | None = None

    def covers(self, start: datetime | None, end: datetime | None) -> bool:
        starts = self.start is None or (start is not None and start >= self.start)
        ends = self.end is None or (end is not None and end <= self.end)
        return starts and ends

    def holds(self, at: datetime) -> bool:
        return (self.start is None or at >= self.start) and (self.end is None or at < self.end)

    @staticmethod
    def around(ranges: Iterable[tuple[datetime | None, datetime | None]]) -> Window | None:
        """The smallest window of whole minutes holding every range (a series includes
        each minute that starts in its range, all of it); None for no range."""
        found = list(ranges)
        if not found:
            return None
        starts = [s for s, _ in found]
        ends = [e for _, e in found]
        start = None if None in starts else min(s for s in starts if s is not None)
        end = None if None in ends else max(e for e in ends if e is not None)
        return Window(
            None if start is None else _minute(start),
            None if end is None or end > _LAST_MINUTE else _minute(end + _ALMOST_A_MINUTE),
        )


_ALMOST_A_MINUTE = timedelta(seconds=59, microseconds=999999)
_LAST_MINUTE = datetime.max.replace(tzinfo=UTC) - timedelta(minutes=1)


class WindowNotLoaded(RuntimeError):
    """A series by the minute asked of figures read without that window (a bug of the
    caller: the window comes from what the request selects)."""


@dataclass(frozen=True, slots=True)
class Figures:
    currency: str
    mark: datetime | None  # the rollup holds every fact dated before it
    hours: tuple[Bucket, ...]
    types: tuple[TypeRow, ...]  # in the event's ticket type order
    states: tuple[States, ...]
    minutes: tuple[Bucket, ...] = ()
    window: Window | None = None
    occurrence_id: uuid.UUID | None = field(default=None)  # scoped to one date

    def scoped(self, occurrence_id: uuid.UUID | None) -> Figures:
        """The same figures for one date only (None: the whole event)."""
        if occurrence_id is None:
            return self

        def mine(rows: Iterable[Bucket]) -> tuple[Bucket, ...]:
            return tuple(r for r in rows if r.occurrence_id == occurrence_id)

        return replace(
            self,
            hours=mine(self.hours),
            minutes=mine(self.minutes),
            types=tuple(t for t in self.types if t.occurrence_id == occurrence_id),
            states=tuple(s for s in self.states if s.occurrence_id == occurrence_id),
            occurrence_id=occurrence_id,
        )

    def within(self, window: Window | None) -> Figures:
        """The same figures with only the minutes of `window` (one subscriber's part of
        a read made for several)."""
        if window is None:
            return replace(self, minutes=(), window=None)
        return replace(
            self,
            minutes=tuple(m for m in self.minutes if window.holds(m.at)),
            window=window,
        )

    def summary(self) -> Summary:
        paid = sum(h.orders for h in self.hours)
        refunded = sum(s.refunded for s in self.states)
        by_type: dict[uuid.UUID, TypeSales] = {}
        for row in self.types:
            before = by_type.get(row.sales.ticket_type_id)
            by_type[row.sales.ticket_type_id] = row.sales if before is None else before + row.sales
        types = tuple(by_type.values())
        return Summary(
            currency=self.currency,
            orders_confirmed=paid - refunded,  # paid = confirmed + refunded
            orders_pending=sum(s.pending for s in self.states),
            orders_expired=sum(s.expired for s in self.states),
            orders_cancelled=sum(s.cancelled for s in self.states),
            orders_refunded=refunded,
            tickets_sold=sum(t.sold for t in types),
            tickets_reserved=sum(t.reserved for t in types),
            capacity=sum(t.quantity for t in types),
            checked_in=sum(h.check_ins for h in self.hours),
            waitlisted=sum(s.waiting for s in self.states),
            gross=sum(h.gross for h in self.hours),
            discounts=sum(h.discounts for h in self.hours),
            fees=sum(h.fees for h in self.hours),
            refunds=sum(h.refunds for h in self.hours),
            by_type=types,
        )

    def sales(
        self, interval: Interval, start: datetime | None = None, end: datetime | None = None
    ) -> list[SalesPoint]:
        """Orders, tickets and gross by when they were paid, refunds by when they
        succeeded; buckets in UTC whose start is in [start, end)."""
        return [
            SalesPoint(b.at, b.orders, b.tickets, b.gross, b.refunds)
            for b in self._series(interval, start, end)
            if b.orders or b.tickets or b.gross or b.refunds
        ]

    def check_ins(
        self, interval: Interval, start: datetime | None = None, end: datetime | None = None
    ) -> list[CheckInPoint]:
        """Check-ins by when they were made; buckets in UTC whose start is in [start, end)."""
        return [
            CheckInPoint(b.at, b.check_ins)
            for b in self._series(interval, start, end)
            if b.check_ins
        ]

    def _series(
        self, interval: Interval, start: datetime | None, end: datetime | None
    ) -> list[Bucket]:
        """The facts summed per bucket of the interval (every date together), in time
        order."""
        if interval is Interval.MINUTE:
            if self.window is None or not self.window.covers(start, end):
                raise WindowNotLoaded(f"minutes [{start}, {end}) not loaded")
            rows: Iterable[Bucket] = self.minutes
        else:
            rows = self.hours
        starts: dict[datetime, datetime] = {}
        merged: dict[datetime, Bucket] = {}
        for row in rows:
            at = starts.get(row.at)
            if at is None:
                at = starts[row.at] = bucket_start(row.at, interval)
            if (start is not None and at < start) or (end is not None and at >= end):
                continue
            before = merged.get(at)
            merged[at] = replace(row, at=at) if before is None else before + row
        return [merged[at] for at in sorted(merged)]


def _minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def bucket_start(at: datetime, interval: Interval) -> datetime:
    """date_trunc(interval, at) in UTC (`at` is a UTC hour or minute)."""
    if interval is Interval.MINUTE:
        return at.replace(second=0, microsecond=0)
    hour = at.replace(minute=0, second=0, microsecond=0)
    if interval is Interval.HOUR:
        return hour
    day = hour.replace(hour=0)
    if interval is Interval.DAY:
        return day
    return day - timedelta(days=day.weekday())  # ISO weeks start on Monday


# The facts' sums, as bigint (sum() of bigint is numeric).
_SUMS = """
    sum(orders)::bigint AS orders, sum(tickets)::bigint AS tickets, sum(gross)::bigint AS gross,
    sum(discounts)::bigint AS discounts, sum(fees)::bigint AS fees,
    sum(refunds)::bigint AS refunds, sum(check_ins)::bigint AS check_ins
"""
_FACTS = text(
    f"""
    WITH {FACT_CTES}
    SELECT 'hour' AS kind, occurrence_id, hour AS at, NULL::uuid AS ticket_type_id, orders,
           tickets, gross_minor AS gross, discounts_minor AS discounts, fees_minor AS fees,
           refunds_minor AS refunds, check_ins
    FROM analytics_hours WHERE event_id = :event
    UNION ALL
    SELECT 'hour', occurrence_id, at, NULL, {_SUMS}
    FROM facts GROUP BY occurrence_id, at
    UNION ALL
    SELECT 'type', occurrence_id, NULL, ticket_type_id, 0, sum(tickets)::bigint,
           sum(gross_minor)::bigint, 0, 0, 0, 0
    FROM analytics_type_hours WHERE event_id = :event GROUP BY occurrence_id, ticket_type_id
    UNION ALL
    SELECT 'type', occurrence_id, NULL, ticket_type_id, 0, sum(tickets)::bigint,
           sum(gross)::bigint, 0, 0, 0, 0
    FROM lines GROUP BY occurrence_id, ticket_type_id
    """  # noqa: S608 - FACT_CTES and _SUMS are literals
)
_MINUTES = text(
    f"""
    WITH {FACT_CTES}
    SELECT occurrence_id, at, {_SUMS} FROM facts GROUP BY occurrence_id, at
    """  # noqa: S608 - FACT_CTES and _SUMS are literals
)
# Index-only (ix_orders_event_id_status covers the date and the cancel reason).
_STATES = text(
    """
    SELECT occurrence_id, status, coalesce(cancel_reason = 'expired', false) AS expired,
           count(*) AS n
    FROM orders
    WHERE event_id = :event AND status IN ('pending', 'cancelled', 'refunded')
    GROUP BY 1, 2, 3
    """
)
_WAITING = text(
    """
    SELECT occurrence_id, count(*) AS n FROM waitlist_entries
    WHERE event_id = :event AND status = 'waiting' GROUP BY 1
    """
)
_INVENTORY = text(
    """
    SELECT i.occurrence_id, i.ticket_type_id, i.sold, i.reserved, i.quantity,
           (SELECT min(currency) FROM ticket_types WHERE event_id = :event) AS currency
    FROM inventory i JOIN ticket_types t ON t.id = i.ticket_type_id
    WHERE i.event_id = :event
    ORDER BY t.position, t.created_at, t.id, i.occurrence_id
    """
)


async def read_figures(
    session: AsyncSession, event_id: uuid.UUID, *, window: Window | None = None
) -> Figures:
    """Every date's figures of the event, in the session's snapshot (start it with
    `server.analytics.service.snapshot`); minutes only within `window`."""
    params: dict[str, object] = {"event": event_id}
    mark = await session.scalar(MARK, params)
    hours: dict[tuple[uuid.UUID, datetime], Bucket] = {}
    gross_by_type: dict[tuple[uuid.UUID, uuid.UUID], int] = defaultdict(int)
    found = await session.execute(_FACTS, {**params, "grain": "hour", "start": mark, "end": None})
    for r in found:
        if r.kind == "type":
            gross_by_type[(r.occurrence_id, r.ticket_type_id)] += r.gross
            continue
        bucket = _bucket(r)
        key = (bucket.occurrence_id, bucket.at)
        hours[key] = hours[key] + bucket if key in hours else bucket
    minutes: tuple[Bucket, ...] = ()
    if window is not None:
        rows = await session.execute(
            _MINUTES, {**params, "grain": "minute", "start": window.start, "end": window.end}
        )
        minutes = tuple(_bucket(r) for r in rows)
    states: dict[uuid.UUID, States] = {}
    for r in await session.execute(_STATES, params):
        now = states.get(r.occurrence_id) or States(r.occurrence_id)
        state = str(r.status)
        if state == "cancelled":
            state = "expired" if r.expired else "cancelled"
        states[r.occurrence_id] = replace(now, **{state: getattr(now, state) + int(r.n)})
    for r in await session.execute(_WAITING, params):
        now = states.get(r.occurrence_id) or States(r.occurrence_id)
        states[r.occurrence_id] = replace(now, waiting=int(r.n))
    currency = "USD"
    types = []
    for r in await session.execute(_INVENTORY, params):
        currency = r.currency or currency
        types.append(
            TypeRow(
                r.occurrence_id,
                TypeSales(
                    r.ticket_type_id,
                    int(r.sold),
                    int(r.reserved),
                    int(r.quantity),
                    gross_by_type.get((r.occurrence_id, r.ticket_type_id), 0),
                ),
            )
        )
    return Figures(
        currency=currency,
        mark=mark,
        hours=tuple(hours[k] for k in sorted(hours, key=lambda k: (k[1], str(k[0])))),
        types=tuple(types),
        states=tuple(states[k] for k in sorted(states, key=str)),
        minutes=minutes,
        window=window,
    )


def _bucket(r: Row[Any]) -> Bucket:
    """From a row ending in the seven sums, in Bucket's order."""
    return Bucket(r.occurrence_id, r.at, *r[-7:])
