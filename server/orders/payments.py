"""Paying for an order: `createPayment` asks the provider for an intent; the provider's
webhook (stored once by the payments shim) confirms the order.

The provider call happens between two short transactions, never inside one: a slow
provider must not hold the order's row lock. The payment row (with our reference and the
idempotency key) is committed first, so a retry finds it and the provider's own
idempotency returns the same intent."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import structlog
from sqlalchemy import select

from server.auth.actor import Actor
from server.config import Settings
from server.db import Database, after_commit
from server.errors import DomainError
from server.orders.errors import NotPending, OrderExpired, OrderNotFound
from server.orders.models import Order, OrderStatus, Payment, PaymentStatus
from server.orders.pricing import FeePolicy, compute_totals
from server.orders.service import may_read_order
from server.organizations.access import Permission, authorize
from server.payments.base import PaymentIntent, PaymentProvider, ProviderName
from server.payments.registry import get_provider
from server.ticketing.changes import OrderChanged

log = structlog.get_logger("eventapi.orders.payments")


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy.from_settings(settings.platform_fee_percent, settings.platform_fee_fixed)


async def create_payment(
    db: Database,
    settings: Settings,
    *,
    actor: Actor,
    order_id: uuid.UUID,
    provider_name: str,
    idempotency_key: str | None,
    now: datetime,
) -> Payment:
    provider = get_provider(provider_name, settings)
    async with db.transaction() as session:
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None or not await may_read_order(session, actor, order):
            raise OrderNotFound(field="orderId")
        if actor.api_key_id is not None:
            await authorize(
                session,
                actor,
                order.organization_id,
                Permission.ORDERS_WRITE,
                not_found=OrderNotFound(field="orderId"),
            )
        if order.status is not OrderStatus.PENDING:
            raise NotPending(
                f"This order is {order.status.value}; it takes no payment.", field="orderId"
            )
        if order.expires_at is not None and order.expires_at <= now:
            raise OrderExpired(field="orderId")
        key = idempotency_key or f"auto:{provider.name.value}:{order.total_minor}"
        # An order gets its provider with its first payment: none yet means no payment to
        # find (the common case, one statement fewer).
        payment = (
            None
            if order.payment_provider is None
            else await session.scalar(
                select(Payment).where(Payment.order_id == order.id, Payment.idempotency_key == key)
            )
        )
        if payment is not None and payment.provider != provider.name.value:
            raise DomainError(
                "This idempotency key was used with another provider.",
                field="idempotencyKey",
                code=NotPending.code,
            )
        if payment is not None and payment.provider_ref is None:
            _prepare_retry(payment, order, provider)
        if payment is None:
            _price_for(order, provider, settings)
            payment = Payment(
                id=_new_payment_id(),
                order_id=order.id,
                organization_id=order.organization_id,
                provider=provider.name.value,
                reference=_new_reference(order),
                idempotency_key=key,
                status=PaymentStatus.CREATED,
                amount_minor=order.total_minor,
                currency=order.currency,
            )
            session.add(payment)
            after_commit(session, OrderChanged(order.id))
        buyer_email = order.buyer_email
        metadata = {"order_id": str(order.id), "event_id": str(order.event_id)}
        if provider.local and payment.provider_ref is None:
            # No network involved: create the intent in this transaction (one round of
            # work instead of two transactions around a provider call).
            _apply_intent(payment, await _intent(provider, payment, buyer_email, metadata))
            await session.flush()
            return payment
    if payment.provider_ref is not None:
        return payment  # a retry: the intent exists already
    try:
        intent = await _intent(provider, payment, buyer_email, metadata)
    except DomainError as error:
        async with db.transaction() as session:
            row = await session.get(Payment, payment.id, with_for_update=True)
            assert row is not None
            if row.reference == payment.reference and row.provider_ref is None:
                row.status, row.failure_reason = PaymentStatus.FAILED, error.message
        raise
    async with db.transaction() as session:
        row = await session.get(Payment, payment.id, with_for_update=True)
        assert row is not None
        # A concurrent retry may have moved the payment to a new reference meanwhile: an
        # intent for the old one is not this payment's any more.
        if row.reference == payment.reference:
            _apply_intent(row, intent)
        return row


async def _intent(
    provider: PaymentProvider, payment: Payment, email: str, metadata: dict[str, str]
) -> PaymentIntent:
    return await provider.create_intent(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reference=payment.reference,
        email=email,
        idempotency_key=f"{payment.id}",
        metadata=metadata,
    )


def _apply_intent(payment: Payment, intent: PaymentIntent) -> None:
    payment.provider_ref = intent.provider_ref
    payment.client_secret = intent.client_secret
    payment.authorization_url = intent.authorization_url
    if payment.status is PaymentStatus.CREATED:
        payment.status = PaymentStatus.PENDING


def _new_reference(order: Order) -> str:
    # Paystack accepts only [A-Za-z0-9.=-] in references.
    return f"ord-{order.id.hex[:12]}-{secrets.token_hex(6)}"


def _prepare_retry(payment: Payment, order: Order, provider: PaymentProvider) -> None:
    """The payment's intent was never created, or its answer never arrived: try again from
    the start. Where the provider cannot recognise a retry by its key, under a new
    reference (the lost first attempt, if it exists there, was never shown to the buyer)."""
    payment.status, payment.failure_reason = PaymentStatus.CREATED, None
    if not provider.keyed_retries:
        payment.reference = _new_reference(order)


def _new_payment_id() -> uuid.UUID:
    from server.ids import new_id

    return new_id()


def _price_for(order: Order, provider: PaymentProvider, settings: Settings) -> None:
    """Fees depend on the provider: recompute the order's totals for this one (pricing
    lives in server.orders.pricing; this only applies its result)."""
    totals = compute_totals(
        subtotal=order.subtotal_minor,
        discount=order.discount_minor,
        policy=fee_policy(settings),
        provider_fee=lambda amount: provider.processing_fee(amount, order.currency),
    )
    order.platform_fee_minor = totals.platform_fee
    order.provider_fee_minor = totals.provider_fee
    order.fees_minor = totals.fees
    order.total_minor = totals.total
    order.payment_provider = provider.name.value


async def payments_of(db: Database, order_id: uuid.UUID) -> list[Payment]:
    async with db.read() as session:
        rows = await session.scalars(
            select(Payment).where(Payment.order_id == order_id).order_by(Payment.created_at)
        )
        return list(rows)


__all__ = ["ProviderName", "create_payment", "fee_policy", "payments_of"]
