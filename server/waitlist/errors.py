from __future__ import annotations

from server.errors import Conflict, Expired, InvalidState, LimitExceeded, NotFound


class EntryNotFound(NotFound):
    message = "No such waitlist entry."


class WaitlistDisabled(InvalidState):
    message = "This ticket type has no waitlist."


class StillOnSale(InvalidState):
    message = "Tickets of this type are on sale; buy them instead of joining the waitlist."


class NotJoinable(InvalidState):
    message = "Sales for this ticket type are not open; the waitlist is closed."


class AlreadyWaiting(Conflict):
    message = "This email is already on the waitlist for this ticket type and date."


class TooMany(LimitExceeded):
    message = "That is more than one order of this ticket type may hold."


class EntryNotActive(InvalidState):
    message = "This entry is no longer waiting."


class OfferForAnotherBuyer(NotFound):
    message = (
        "This waitlist offer was made to another buyer; sign in with, or give, "
        "the email it was sent to."
    )


class OfferExpired(Expired):
    message = "This waitlist offer has expired."
