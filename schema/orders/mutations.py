from __future__ import annotations

import strawberry
from sqlalchemy.ext.asyncio import AsyncSession

from schema.context import Info
from schema.errors import run_mutation, user_errors
from schema.ids import input_id
from schema.orders.inputs import CreateOrderInput, CreatePaymentInput, RefundOrderInput
from schema.orders.types import Order, OrderPayload, Payment, PaymentPayload
from schema.permissions import IsAuthenticated
from server.clock import utcnow
from server.errors import DomainError, DomainErrors
from server.ids import parse_uuid
from server.orders import payments, refunds, service
from server.orders.batching import OrderBatcher, SimpleOrder
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


def _simple_order(info: Info, input: CreateOrderInput) -> SimpleOrder | None:
    """The order as a batchable one (see server.orders.batching), or None."""
    actor = info.context.actor
    if (
        len(input.items) != 1
        or input.items[0].seat_ids
        or input.hold_token
        or input.promo_code
        or input.idempotency_key is not None
        or actor.api_key_id is not None
    ):
        return None
    item = input.items[0]
    event_id, type_id = parse_uuid(input.event_id), parse_uuid(item.ticket_type_id)
    occurrence_id = parse_uuid(input.occurrence_id) if input.occurrence_id else None
    if event_id is None or type_id is None or (input.occurrence_id and occurrence_id is None):
        return None  # the single path reports the malformed id on its field
    return SimpleOrder(actor, input.buyer_email, event_id, occurrence_id, type_id, item.quantity)


def _batcher(info: Info) -> OrderBatcher:
    state = info.context.state
    batcher = state.extras.get("order_batcher")
    if batcher is None:
        batcher = OrderBatcher(
            state.db,
            order_ttl=state.settings.order_ttl,
            fees=payments.fee_policy(state.settings),
            sold_out=SoldOutNotes(state.redis),
        )
        state.extras["order_batcher"] = batcher
    return batcher


@strawberry.type
class OrderMutations:
    @strawberry.mutation(description="Reserve tickets; the order holds them until expiresAt.")
    async def create_order(self, info: Info, input: CreateOrderInput) -> OrderPayload:
        ctx = info.context
        simple = _simple_order(info, input)
        if simple is not None:
            try:
                placed = await _batcher(info).place(simple)
            except (DomainError, DomainErrors) as error:
                return OrderPayload(errors=user_errors(error))
            return OrderPayload(order=Order.from_model(placed))

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
        permission_classes=[IsAuthenticated],
        description="Refund a confirmed order in full or in part (managers and owners).",
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
