"""What verified provider events do to orders. The payments shim stores each provider event
once and calls these inside that transaction; they are idempotent with respect to the
order's state as well, because one payment produces several events (a TEST confirmation
and a provider webhook, a `charge.refunded` after our own refund call)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.db import after_commit
from server.errors import DomainError, ErrorCode, NotFound
from server.ids import new_id
from server.money import money_text
from server.orders import lifecycle
from server.orders.models import (
    Dispute,
    DisputeStatus,
    Order,
    OrderStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundStatus,
)
from server.outbox.service import emit
from server.payments import events as registry
from server.payments.base import DisputeOutcome, EventKind, ProviderEvent
from server.ticketing.changes import OrderChanged

log = structlog.get_logger("eventapi.orders.payment_events")


class AmountMismatch(DomainError):
    code = ErrorCode.PAYMENT_FAILED
    message = "The paid amount or currency differs from the order; it was not confirmed."


@dataclass(frozen=True, slots=True)
class RefundRequested:
    """After commit: ask the provider to refund (an automatic refund of a payment that
    can no longer buy anything)."""

    refund_id: Any


async def _locked(session: AsyncSession, event: ProviderEvent) -> tuple[Order, Payment]:
    query = select(Payment.id, Payment.order_id).where(Payment.provider == event.provider.value)
    if event.reference:
        query = query.where(Payment.reference == event.reference)
    elif event.provider_ref:
        query = query.where(Payment.provider_ref == event.provider_ref)
    else:
        raise NotFound("The event names no payment.")
    found = (await session.execute(query)).first()
    if found is None:
        raise NotFound("No payment has this reference.")
    order = await session.scalar(select(Order).where(Order.id == found.order_id).with_for_update())
    payment = await session.scalar(select(Payment).where(Payment.id == found.id).with_for_update())
    assert order is not None and payment is not None
    return order, payment


async def on_payment_succeeded(session: AsyncSession, event: ProviderEvent, now: datetime) -> None:
    order, payment = await _locked(session, event)
    if payment.status in (
        PaymentStatus.SUCCEEDED,
        PaymentStatus.REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
    ):
        return
    if event.amount_minor is not None and (
        event.amount_minor != payment.amount_minor
        or (event.currency or "").upper() != payment.currency
    ):
        paid_in = (event.currency or payment.currency).upper()
        raise AmountMismatch(
            f"Paid {money_text(event.amount_minor, paid_in)}, "
            f"expected {money_text(payment.amount_minor, payment.currency)}."
        )
    payment.status = PaymentStatus.SUCCEEDED
    payment.succeeded_at = now
    payment.failure_reason = None
    if order.status is OrderStatus.CANCELLED and await lifecycle.reserve_again(
        session, order=order, now=now
    ):
        log.info("late payment re-reserved its order", order_id=str(order.id))
    if order.status is OrderStatus.PENDING and payment.amount_minor == order.total_minor:
        await lifecycle.confirm(session, order=order, now=now)
        return
    # Too late (stock gone), paid twice, or for a total that changed: give it back.
    log.warning(
        "refunding a payment that cannot confirm its order",
        order_id=str(order.id),
        status=order.status.value,
    )
    refund = Refund(
        id=new_id(),
        order_id=order.id,
        payment_id=payment.id,
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        status=RefundStatus.PENDING,
        reason="The order could not be confirmed when the payment arrived.",
        automatic=True,
    )
    session.add(refund)
    await session.flush()
    after_commit(session, RefundRequested(refund.id))


async def on_payment_failed(session: AsyncSession, event: ProviderEvent, now: datetime) -> None:
    _order, payment = await _locked(session, event)
    if payment.status in (PaymentStatus.CREATED, PaymentStatus.PENDING):
        payment.status = PaymentStatus.FAILED
        payment.failure_reason = event.failure_message or "The payment failed."
        after_commit(session, OrderChanged(_order.id))


async def on_refunded(session: AsyncSession, event: ProviderEvent, now: datetime) -> None:
    """A refund completed at the provider: ours (matched by refund id) or one made in the
    provider's dashboard (recorded here)."""
    order, payment = await _locked(session, event)
    ours = None
    if event.refund_ref:
        ours = await session.scalar(select(Refund).where(Refund.provider_ref == event.refund_ref))
    if ours is not None:
        if ours.status is not RefundStatus.SUCCEEDED:
            await record_refund(session, order=order, payment=payment, refund=ours, now=now)
        return
    if event.refunded_total_minor is not None:
        amount = event.refunded_total_minor - payment.refunded_minor
    else:
        amount = event.amount_minor or 0
    if amount <= 0:
        return  # already counted
    refund = Refund(
        id=new_id(),
        order_id=order.id,
        payment_id=payment.id,
        amount_minor=amount,
        currency=payment.currency,
        status=RefundStatus.PENDING,
        provider_ref=event.refund_ref,
        reason="Refunded at the provider.",
    )
    session.add(refund)
    await session.flush()
    await record_refund(session, order=order, payment=payment, refund=refund, now=now)


async def record_refund(
    session: AsyncSession, *, order: Order, payment: Payment, refund: Refund, now: datetime
) -> None:
    """A refund succeeded: add it to the order and payment; a full refund ends the order."""
    refund.status = RefundStatus.SUCCEEDED
    amount = min(refund.amount_minor, order.total_minor - order.refunded_minor)
    order.refunded_minor += amount
    payment.refunded_minor = min(payment.amount_minor, payment.refunded_minor + refund.amount_minor)
    payment.status = (
        PaymentStatus.REFUNDED
        if payment.refunded_minor >= payment.amount_minor
        else PaymentStatus.PARTIALLY_REFUNDED
    )
    await session.flush()
    after_commit(session, OrderChanged(order.id))
    if order.status is OrderStatus.CONFIRMED and order.refunded_minor >= order.total_minor:
        await lifecycle.finish_refund(session, order=order, now=now)
    await emit(
        session,
        "order.refunded",
        organization_id=order.organization_id,
        payload={**lifecycle.order_payload(order), "refundAmount": amount},
    )


def _dispute_id(event: ProviderEvent) -> str:
    data = event.raw.get("data") if isinstance(event.raw, dict) else None
    if isinstance(data, dict):
        obj = data.get("object")
        if isinstance(obj, dict) and obj.get("id"):
            return str(obj["id"])
        if data.get("id") is not None:
            return str(data["id"])
    return event.event_id


async def on_dispute(session: AsyncSession, event: ProviderEvent, now: datetime) -> None:
    """Disputes are rows of their own; the `disputes_sync_order` trigger mirrors the latest
    one's status onto the order."""
    order, payment = await _locked(session, event)
    dispute_id = _dispute_id(event)
    dispute = await session.scalar(
        select(Dispute).where(
            Dispute.provider == event.provider.value, Dispute.provider_dispute_id == dispute_id
        )
    )
    if event.kind is EventKind.DISPUTE_OPENED:
        status = DisputeStatus.OPEN
    else:
        status = (
            DisputeStatus.WON if event.dispute_outcome is DisputeOutcome.WON else DisputeStatus.LOST
        )
    if dispute is None:
        dispute = Dispute(
            id=new_id(),
            order_id=order.id,
            payment_id=payment.id,
            provider=event.provider.value,
            provider_dispute_id=dispute_id,
            status=status,
            amount_minor=event.amount_minor or payment.amount_minor,
            currency=(event.currency or payment.currency).upper(),
            opened_at=now,
        )
        session.add(dispute)
    elif dispute.status is DisputeStatus.OPEN or status is not DisputeStatus.OPEN:
        dispute.status = status
    if status is not DisputeStatus.OPEN:
        dispute.closed_at = now
    await session.flush()
    await emit(
        session,
        f"order.dispute_{status.value}",
        organization_id=order.organization_id,
        payload={**lifecycle.order_payload(order), "disputeId": str(dispute.id)},
    )


registry.register_handler(EventKind.PAYMENT_SUCCEEDED, on_payment_succeeded)
registry.register_handler(EventKind.PAYMENT_FAILED, on_payment_failed)
registry.register_handler(EventKind.REFUNDED, on_refunded)
registry.register_handler(EventKind.DISPUTE_OPENED, on_dispute)
registry.register_handler(EventKind.DISPUTE_CLOSED, on_dispute)
