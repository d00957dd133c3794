"""What analytics answer: an event's (or one date's) totals, its ticket types, and series
by interval. Money in minor units of the event's currency:
- gross: face value of paid orders (confirmed or since refunded), before discounts;
- discounts, fees: of those orders; buyers paid gross - discounts + fees;
- refunds: refunds that succeeded; net = gross - discounts + fees - refunds, which is
  what the providers collected and kept."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class Interval(StrEnum):
    MINUTE = "minute"
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


@dataclass(frozen=True, slots=True)
class TypeSales:
    ticket_type_id: uuid.UUID
    sold: int
    reserved: int
    quantity: int
    gross: int

    def __add__(self, other: TypeSales) -> TypeSales:
        """The same ticket type's figures of two dates together."""
        return TypeSales(
            self.ticket_type_id,
            self.sold + other.sold,
            self.reserved + other.reserved,
            self.quantity + other.quantity,
            self.gross + other.gross,
        )


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
