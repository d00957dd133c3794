from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import UserError, mutate, run_mutation, user_errors
from schema.ids import input_id
from schema.orders import loaders
from schema.orders.inputs import CreateOrderInput, CreatePaymentInput, RefundOrderInput
from schema.orders.types import Order, OrderPayload, Payment, PaymentPayload
from schema.permissions import IsAuthenticated
from server.clock import utcnow
from server.orders import cancelling, payments, refunds
from server.orders.models import Order as OrderModel
from server.orders.requests import ItemRequest, OrderRequest, PlacedOrder


def order_request(info: Info, input: CreateOrderInput) -> OrderRequest:
    return OrderRequest(
        actor=info.context.actor,
        event_id=input_id(input.event_id, "eventId"),
        occurrence_id=input_id(input.occurrence_id, "occurrenceId")
        if input.occurrence_id
        else None,
        items=tuple(
            ItemRequest(
                ticket_type_id=input_id(item.ticket_type_id, ["items", str(n), "ticketTypeId"]),
                quantity=item.quantity,
                seat_ids=tuple(
                    input_id(s, ["items", str(n), "seatIds"]) for s in item.seat_ids or []
                ),
            )
            for n, item in enumerate(input.items)
        ),
        promo_code=input.promo_code,
        hold_token=input.hold_token,
        idempotency_key=input.idempotency_key,
        buyer_email=input.buyer_email,
        payment_provider=str(input.payment.provider) if input.payment else None,
    )


def placed_payload(info: Info, placed: PlacedOrder | None, errors: list[UserError]) -> OrderPayload:
    """The placed order; what the order path already holds (its lines, its payment) is
    handed to the loaders, so the response does not read it back."""
    if placed is None:
        return OrderPayload(errors=errors)
    order_id = placed.order.id
    if placed.items is not None:
        info.context.loader(loaders.OrderItemsByOrderLoader).prime(order_id, list(placed.items))
    if placed.payment is not None:
        info.context.loader(loaders.PaymentsByOrderLoader).prime(order_id, [placed.payment])
    if placed.payment_error is not None:
        errors = [*errors, *user_errors(placed.payment_error)]
    return OrderPayload(order=Order.from_model(placed.order), errors=errors)


@strawberry.type
class OrderMutations:
    @strawberry.mutation(
        description="Reserve tickets; the order holds them until expiresAt. With `payment`, "
        "the order's first payment is made in the same request (see `order.payments`)."
    )
    async def create_order(self, info: Info, input: CreateOrderInput) -> OrderPayload:
        placed, errors = await mutate(
            lambda: info.context.state.orders.place(order_request(info, input))
        )
        return placed_payload(info, placed, errors)

    @strawberry.mutation(description="Cancel a pending order; its tickets go back on sale at once.")
    async def cancel_order(self, info: Info, id: strawberry.ID) -> OrderPayload:
        async def work(session: AsyncSession) -> OrderModel:
            return await cancelling.cancel_order(
                session, actor=info.context.actor, order_id=input_id(id, "id"), now=utcnow()
            )

        order, errors = await run_mutation(info, work)
        return OrderPayload(order=Order.from_model(order) if order else None, errors=errors)

    @strawberry.mutation(description="Start paying for a pending order with a provider.")
    async def create_payment(self, info: Info, input: CreatePaymentInput) -> PaymentPayload:
        ctx = info.context
        payment, errors = await mutate(
            lambda: payments.create_payment(
                ctx.db,
                ctx.settings,
                actor=ctx.actor,
                order_id=input_id(input.order_id, "orderId"),
                provider_name=str(input.provider),
                idempotency_key=input.idempotency_key,
                now=utcnow(),
            )
        )
        return PaymentPayload(
            payment=Payment.from_model(payment) if payment else None, errors=errors
        )

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Refund a confirmed order in full or in part (managers and owners).",
    )
    async def refund_order(self, info: Info, input: RefundOrderInput) -> OrderPayload:
        ctx = info.context
        order, errors = await mutate(
            lambda: refunds.refund_order(
                ctx.db,
                ctx.settings,
                actor=ctx.actor,
                order_id=input_id(input.order_id, "orderId"),
                amount=input.amount.amount if input.amount else None,
                currency=input.amount.currency if input.amount else None,
                reason=input.reason,
                now=utcnow(),
            )
        )
        return OrderPayload(order=Order.from_model(order) if order else None, errors=errors)
