from __future__ import annotations

import strawberry

from schema.common import MoneyInput
from schema.orders.types import PaymentProvider


@strawberry.input
class OrderItemInput:
    ticket_type_id: strawberry.ID
    quantity: int
    seat_ids: list[strawberry.ID] | None = None


@strawberry.input(description="The order's first payment, made in the same request.")
class OrderPaymentInput:
    provider: PaymentProvider  # type: ignore[valid-type]


@strawberry.input
class CreateOrderInput:
    event_id: strawberry.ID
    occurrence_id: strawberry.ID | None = None
    items: list[OrderItemInput]
    promo_code: str | None = None
    hold_token: str | None = None
    idempotency_key: str | None = strawberry.field(
        default=None,
        description="A retry with the same key and input returns the same order (24 hours).",
    )
    buyer_email: str | None = strawberry.field(
        default=None, description="For guest checkout (no signed-in buyer)."
    )
    payment: OrderPaymentInput | None = strawberry.field(
        default=None,
        description="Pay in the same request: the order comes back with its first payment "
        "(`clientSecret` for Stripe and TEST, `authorizationUrl` for Paystack). If the "
        "provider fails, the order is still placed, pending, with a PAYMENT_FAILED error; "
        "pay it later with createPayment.",
    )


@strawberry.input
class CreatePaymentInput:
    order_id: strawberry.ID
    provider: PaymentProvider  # type: ignore[valid-type]
    idempotency_key: str | None = None


@strawberry.input
class RefundOrderInput:
    order_id: strawberry.ID
    amount: MoneyInput | None = strawberry.field(
        default=None, description="Omit for a full refund."
    )
    reason: str | None = None
