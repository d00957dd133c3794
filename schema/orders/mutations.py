from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import run_mutation, user_errors
from schema.ids import input_id
from schema.orders.inputs import CreateOrderInput, CreatePaymentInput, RefundOrderInput
from schema.orders.types import Order, OrderPayload, Payment, PaymentPayload
from server.clock import utcnow
from server.errors import DomainError, DomainErrors
from server.orders import payments, refunds, service
from server.orders.models import Order as OrderModel
from server.orders.soldout import SoldOutNotes


def _items(input: CreateOrderInput) -> list[service.ItemRequest]:
    return [
        service.ItemRequest(
            ticket_type_id=input_id(item.ticket_type_id, ["items", str(n), "ticketTypeId"]),
            quantity=item.quantity,
            seat_ids=tuple(input_id(s, ["items", str(n), "seatIds"]) for s in item.seat_ids or []),
        )
        for n, item in enumerate(input.items)
    ]


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Reserve tickets; the order holds them until expiresAt.")
    async def create_order(self, info: Info, input: CreateOrderInput) -> OrderPayload:
        ctx = info.context

        async def work(session: AsyncSession) -> OrderModel:
            return await service.create_order(
                session,
                actor=ctx.actor,
                event_id=input_id(input.event_id, "eventId"),
                occurrence_id=input_id(input.occurrence_id, "occurrenceId")
                if input.occurrence_id
                else None,
                items=_items(input),
                promo_code=input.promo_code,
                hold_token=input.hold_token,
                idempotency_key=input.idempotency_key,
                buyer_email=input.buyer_email,
                now=utcnow(),
                order_ttl=ctx.settings.order_ttl,
                fees=payments.fee_policy(ctx.settings),
                sold_out=SoldOutNotes(ctx.redis),
            )

        order, errors = await run_mutation(info, work)
        return OrderPayload(order=Order.from_model(order) if order else None, errors=errors)

    @strawberry.mutation(description="Cancel a pending order; its tickets go back on sale at once.")
    async def cancel_order(self, info: Info, id: strawberry.ID) -> OrderPayload:
        async def work(session: AsyncSession) -> OrderModel:
            return await service.cancel_order(
                session, actor=info.context.actor, order_id=input_id(id, "id"), now=utcnow()
            )

        order, errors = await run_mutation(info, work)
        return OrderPayload(order=Order.from_model(order) if order else None, errors=errors)

    @strawberry.mutation(description="Start paying for a pending order with a provider.")
    async def create_payment(self, info: Info, input: CreatePaymentInput) -> PaymentPayload:
        ctx = info.context
        try:
            payment = await payments.create_payment(
                ctx.db,
                ctx.settings,
                actor=ctx.actor,
                order_id=input_id(input.order_id, "orderId"),
                provider_name=str(input.provider),
                idempotency_key=input.idempotency_key,
                now=utcnow(),
            )
        except (DomainError, DomainErrors) as error:
            return PaymentPayload(errors=user_errors(error))
        return PaymentPayload(payment=Payment.from_model(payment))

    @strawberry.mutation(
        description="Refund a confirmed order in full or in part (managers and owners)."
    )
    async def refund_order(self, info: Info, input: RefundOrderInput) -> OrderPayload:
        ctx = info.context
        try:
            order = await refunds.refund_order(
                ctx.db,
                ctx.settings,
                actor=ctx.actor,
                order_id=input_id(input.order_id, "orderId"),
                amount=input.amount.amount if input.amount else None,
                currency=input.amount.currency if input.amount else None,
                reason=input.reason,
                now=utcnow(),
            )
        except (DomainError, DomainErrors) as error:
            return OrderPayload(errors=user_errors(error))
        return OrderPayload(order=Order.from_model(order))
