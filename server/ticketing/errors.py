from __future__ import annotations

from server.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    Expired,
    InvalidState,
    LimitExceeded,
    NotFound,
    ValidationError,
)


class TicketTypeNotFound(NotFound):
    message = "No such ticket type."


class PriceTierNotFound(NotFound):
    message = "No such price tier."


class HoldNotFound(NotFound):
    message = "No such hold."


class OccurrenceNotFound(NotFound):
    message = "No such occurrence of this event."


class SoldOut(DomainError):
    code = ErrorCode.SOLD_OUT
    message = "Sold out."


class NotEnoughLeft(LimitExceeded):
    def __init__(self, available: int, *, field: str | list[str] | None = None) -> None:
        self.available = available
        super().__init__(f"Only {available} left.", field=field)


class SeatUnavailable(Conflict):
    code = ErrorCode.SOLD_OUT
    message = "One or more of the chosen seats are no longer available."


class HoldExpired(Expired):
    message = "This hold has expired."


class HoldReleased(InvalidState):
    message = "This hold has already been released."


class QuantityBelowAllocated(ValidationError):
    message = "The quantity cannot drop below what is already sold, reserved and held."


class TierOverlap(ValidationError):
    message = "This tier's window overlaps another tier of the same ticket type."


class Busy(Conflict):
    message = "This ticket type is very busy right now; try again in a moment."
