"""Refunds: `refundOrder` (full or partial, within the event's refund policy) and the
automatic refund of a payment that arrived too late to buy anything.

Like payments, the provider is called between two short transactions. A refund row is
committed as `pending` first and counts against what is refundable, so two concurrent
refunds can never give back more than was paid."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.config import Settings
from server.db import Database
from server.errors import DomainError, ValidationError
from server.events.models import Event, EventOccurrence
from server.ids import new_id
from server.money import money_text, normalize_currency, to_minor
from server.orders.errors import NothingToRefund, OrderNotFound, RefundWindowClosed
from server.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from server.orders.payment_events import record_refund
from server.organizations.access import Permission, authorize
from server.payments.registry import get_provider

MAX_REASON_LENGTH = 500


async def refund_order(
    db: Database,
    settings: Settings,
    *,
    actor: Actor,
    order_id: uuid.UUID,
    amount: Decimal | None,
    currency: str | None,
    reason: str | None,
    now: datetime,
) -> Order:
    reason = (reason or "").strip() or None
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise ValidationError(
            f"The reason is longer than {MAX_REASON_LENGTH} characters.", field="reason"
        )
    async with db.transaction() as session:
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None:
            raise OrderNotFound(field="orderId")
        await authorize(
            session,
            actor,
            order.organization_id,
            Permission.ORDERS_WRITE,
            not_found=OrderNotFound(field="orderId"),
        )
        if order.status is not OrderStatus.CONFIRMED:
            raise NothingToRefund(
                f"This order is {order.status.value}; only confirmed orders are refunded.",
                field="orderId",
            )
        await _check_policy(session, order, now)
        pending = await session.scalar(
            select(func.coalesce(func.sum(Refund.amount_minor), 0)).where(
                Refund.order_id == order.id, Refund.status == RefundStatus.PENDING
            )
        )
        refundable = order.total_minor - order.refunded_minor - int(pending or 0)
        wanted = refundable
        if amount is not None:
            if (
                currency is not None
                and normalize_currency(currency, ["amount", "currency"]) != order.currency
            ):
                raise ValidationError(
                    f"This order was paid in {order.currency}.", field=["amount", "currency"]
                )
            wanted = to_minor(amount, order.currency, field=["amount", "amount"], allow_zero=False)
        if refundable <= 0:
            raise NothingToRefund(field="orderId")
        if wanted > refundable:
            raise ValidationError(
                f"At most {money_text(refundable, order.currency)} can still be refunded.",
                field=["amount", "amount"],
            )
        payment = await session.scalar(
            select(Payment)
            .where(
                Payment.order_id == order.id,
                Payment.status.in_((PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)),
            )
            .order_by(Payment.succeeded_at)
        )
        refund = Refund(
            id=new_id(),
            order_id=order.id,
            payment_id=payment.id if payment else None,
            amount_minor=wanted,
            currency=order.currency,
            status=RefundStatus.PENDING,
            reason=reason,
            requested_by_id=actor.user_id,
        )
        session.add(refund)
    await execute_refund(db, settings, refund_id=refund.id, now=now)
    async with db.read() as session:
        result = await session.get(Order, order_id)
        assert result is not None
        return result


async def _check_policy(session: AsyncSession, order: Order, now: datetime) -> None:
    event = await session.get(Event, order.event_id)
    occurrence = await session.get(EventOccurrence, order.occurrence_id)
    assert event is not None and occurrence is not None
    if event.refund_deadline_hours is not None:
        deadline = occurrence.starts_at - timedelta(hours=event.refund_deadline_hours)
        if now > deadline:
            raise RefundWindowClosed(
                f"Refunds closed {event.refund_deadline_hours} hours before the event started.",
                field="orderId",
            )


async def execute_refund(
    db: Database, settings: Settings, *, refund_id: uuid.UUID, now: datetime
) -> None:
    """Send a pending refund to the provider and record the outcome (safe to run again:
    the provider call carries the refund's id as its idempotency key)."""
    async with db.read() as session:
        refund = await session.get(Refund, refund_id)
        payment = (
            await session.get(Payment, refund.payment_id) if refund and refund.payment_id else None
        )
    if refund is None or refund.status is not RefundStatus.PENDING:
        return
    provider_ref = None
    if payment is not None and payment.provider_ref:
        provider = get_provider(payment.provider, settings)
        try:
            result = await provider.refund(
                provider_ref=payment.provider_ref,
                amount_minor=refund.amount_minor,
                currency=refund.currency,
                idempotency_key=str(refund.id),
                reason=refund.reason,
            )
        except DomainError:
            async with db.transaction() as session:
                row = await session.get(Refund, refund_id, with_for_update=True)
                if row is not None and row.status is RefundStatus.PENDING:
                    row.status = RefundStatus.FAILED
            raise
        provider_ref = result.provider_ref
    async with db.transaction() as session:
        order = await session.scalar(
            select(Order).where(Order.id == refund.order_id).with_for_update()
        )
        row = await session.get(Refund, refund_id, with_for_update=True)
        assert order is not None and row is not None
        if row.status is not RefundStatus.PENDING:
            return
        row.provider_ref = provider_ref
        locked_payment = (
            await session.get(Payment, payment.id, with_for_update=True) if payment else None
        )
        if locked_payment is None:
            # A free order: nothing went through a provider; the "refund" ends the order.
            row.status = RefundStatus.SUCCEEDED
            order.refunded_minor = min(order.total_minor, order.refunded_minor + row.amount_minor)
            from server.orders.lifecycle import finish_refund

            if order.status is OrderStatus.CONFIRMED:
                await finish_refund(session, order=order, now=now)
            return
        await record_refund(session, order=order, payment=locked_payment, refund=row, now=now)
