from __future__ import annotations

from server.errors import Conflict, Expired, InvalidState, LimitExceeded, NotFound


class OrderNotFound(NotFound):
    message = "No such order."


class NotOnSale(InvalidState):
    message = "This event is not on sale."


class DateOver(InvalidState):
    message = "This date of the event is over."


class SalesNotOpen(InvalidState):
    message = "Sales for this ticket type have not started."


class SalesClosed(InvalidState):
    message = "Sales for this ticket type have ended."


class BuyerLimit(LimitExceeded):
    message = "You have reached the limit of tickets of this type per buyer."


class OrderExpired(Expired):
    message = "This order has expired; its tickets were released. Start a new order."


class NotPending(InvalidState):
    message = "Only a pending order can do this."


class KeyReused(Conflict):
    message = "This idempotency key was used with different input."


class RefundWindowClosed(InvalidState):
    message = "The event's refund deadline has passed."


class NothingToRefund(InvalidState):
    message = "Nothing is left to refund on this order."
