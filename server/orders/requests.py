"""What a buyer asks for when placing an order, and what they get back."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from server.auth.actor import Actor
from server.errors import DomainError
from server.orders.models import Order, OrderItem, Payment


@dataclass(frozen=True, slots=True)
class ItemRequest:
    ticket_type_id: uuid.UUID
    quantity: int
    seat_ids: Sequence[uuid.UUID] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """One `createOrder`, whoever sends it (a signed-in buyer, a guest, an API key) and
    whatever it carries. `payment_provider` asks for the order's first payment in the same
    request (checkout in one request)."""

    actor: Actor
    event_id: uuid.UUID
    occurrence_id: uuid.UUID | None
    items: tuple[ItemRequest, ...]
    promo_code: str | None = None
    hold_token: str | None = None
    idempotency_key: str | None = None
    buyer_email: str | None = None
    payment_provider: str | None = None

    @property
    def sale_key(self) -> tuple[uuid.UUID, uuid.UUID | None]:
        """Orders with the same key compete for the same inventory rows, and share a
        transaction when they arrive together."""
        return (self.event_id, self.occurrence_id)


@dataclass(frozen=True, slots=True)
class Buyer:
    user_id: uuid.UUID | None
    email: str

    @property
    def key(self) -> str:
        """How per-buyer limits and promo codes recognise a buyer."""
        return f"user:{self.user_id}" if self.user_id else f"email:{self.email}"


@dataclass(frozen=True, slots=True)
class PlacedOrder:
    """The order, and with checkout in one request its first payment. A provider that
    failed after the order was placed leaves the order pending (pay it later with
    `createPayment`) and says why in `payment_error`."""

    order: Order
    payment: Payment | None = None
    payment_error: DomainError | None = None
    items: Sequence[OrderItem] | None = None  # known when the order was just placed
