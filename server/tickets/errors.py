from __future__ import annotations

import uuid
from datetime import datetime

from server.errors import (
    Conflict,
    DomainError,
    ErrorCode,
    Expired,
    InvalidState,
    NotFound,
    ValidationError,
)


class TicketNotFound(NotFound):
    message = "No such ticket."


class TransferNotFound(NotFound):
    message = "No such transfer."


class OccurrenceNotFound(NotFound):
    message = "No such occurrence."


class NotAValidTicket(ValidationError):
    """The QR payload is not one this platform signed (malformed, tampered, forged)."""

    message = "This is not a valid ticket: its code is malformed or its signature is wrong."


class WrongOccurrence(ValidationError):
    message = "This ticket is for another date of the event."


class WrongEvent(ValidationError):
    message = "This ticket is for another event."


class TicketCancelled(InvalidState):
    message = "This ticket was cancelled; it no longer admits anyone."


class TicketTransferred(InvalidState):
    message = "This ticket was transferred; its new holder has a new code."


class TicketNotValid(InvalidState):
    message = "This ticket is not valid any more."


class AlreadyCheckedIn(DomainError):
    """Another scan admitted this ticket first; `first_at` is when."""

    code = ErrorCode.ALREADY_CHECKED_IN

    def __init__(self, *, ticket_id: uuid.UUID, first_at: datetime, location: str | None) -> None:
        self.ticket_id = ticket_id
        self.first_at = first_at
        where = f" at {location}" if location else ""
        super().__init__(f"Already checked in at {first_at.isoformat()}{where}.", field="qrCode")


class TransfersNotAllowed(InvalidState):
    message = "This event does not allow ticket transfers."


class TransferPending(Conflict):
    message = "This ticket already has a pending transfer; cancel it first."


class TransferClosed(InvalidState):
    message = "This transfer is no longer pending."


class TransferExpired(Expired):
    message = "This transfer offer has expired."


class TooLate(InvalidState):
    message = "This date has already started; its tickets can no longer be transferred."
