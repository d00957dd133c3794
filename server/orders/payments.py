"""Paying for an order: `createPayment` (or checkout in one request, see
`server.orders.placing`) asks the provider for an intent; the provider's webhook (stored
once by the payments shim) confirms the order.

The provider call happens between two short transactions, never inside one: a slow
provider must not hold the order's row lock. The payment row (with our reference and the
idempotency key) is committed first, so a retry finds it and the provider's own
idempotency returns the same intent. A local provider (TEST) makes no network call: its
intent is made inside the first transaction."""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime

import structlog
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.config import Settings
from server.db import Database, after_commit
from server.errors import DomainError
from server.ids import new_id
from server.orders.errors import NotPending, OrderExpired, OrderNotFound
from server.orders.models import Order, OrderStatus, Payment, PaymentStatus
from server.orders.pricing import FeePolicy, Totals, compute_totals
from server.orders.reading import may_read_order
from server.organizations.access import Permission, authorize
from server.payments.base import PaymentIntent, PaymentProvider, ProviderName
from server.payments.registry import get_provider
from server.ticketing.changes import OrderChanged

log = structlog.get_logger("eventapi.orders.payments")


def fee_policy(settings: Settings) -> FeePolicy:
    return FeePolicy.from_settings(settings.platform_fee_percent, settings.platform_fee_fixed)


def totals_for(
    *,
    subtotal: int,
    discount: int,
    currency: str,
    settings: Settings,
    provider: PaymentProvider | None,
) -> Totals:
    """An order's totals; fees depend on the provider once one is chosen."""
    return compute_totals(
        subtotal=subtotal,
        discount=discount,
        policy=fee_policy(settings),
        provider_fee=(lambda amount: provider.processing_fee(amount, currency))
        if provider is not None
        else None,
    )


def auto_key(provider: PaymentProvider, order: Order) -> str:
    """The payment key when the client sends none: a retry for the same amount finds the
    same payment."""
    return f"auto:{provider.name.value}:{order.total_minor}"


def new_payment(order: Order, provider: PaymentProvider, key: str) -> Payment:
    """The order's payment with `provider`, not yet stored, its intent not yet made."""
    return Payment(
        id=new_id(),
        order_id=order.id,
        organization_id=order.organization_id,
        provider=provider.name.value,
        reference=_new_reference(order),
        idempotency_key=key,
        status=PaymentStatus.CREATED,
        amount_minor=order.total_minor,
        currency=order.currency,
        refunded_minor=0,
    )


_PAY = text(
    """
    WITH priced AS (
        UPDATE orders SET platform_fee_minor = :platform_fee, provider_fee_minor = :provider_fee,
                          fees_minor = :fees, total_minor = :total, payment_provider = :provider
        WHERE id = :order_id
    )
    INSERT INTO payments (id, order_id, organization_id, provider, reference, idempotency_key,
                          status, amount_minor, currency, refunded_minor, provider_ref,
                          client_secret, authorization_url)
    VALUES (:id, :order_id, :organization_id, :provider, :reference, :idempotency_key,
            CAST(:status AS payment_status), :amount_minor, :currency, 0, :provider_ref,
            :client_secret, :authorization_url)
    """
)


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
        row = (
            await session.execute(
                select(*Order.__table__.columns).where(Order.id == order_id).with_for_update()
            )
        ).first()
        # A plain row, not a loaded object: this is the second request of every checkout.
        order = Order(**row._mapping) if row is not None else None
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
        key = idempotency_key or auto_key(provider, order)
        if order.payment_provider is not None:
            # A retry, or another provider after the first: the rare path.
            payment = await _pay_again(session, settings, order, provider, key)
        else:
            payment = await _first_payment(session, settings, order, provider, key)
    if payment.provider_ref is not None:
        return payment  # a local intent, or a retry of one that exists
    return await finish_payment(db, provider, payment, order)


async def _first_payment(
    session: AsyncSession,
    settings: Settings,
    order: Order,
    provider: PaymentProvider,
    key: str,
) -> Payment:
    """The order's first payment: its fees for this provider and the payment row, in one
    statement (with a local provider's intent already in it)."""
    _price_for(order, provider, settings)
    payment = new_payment(order, provider, key)
    if provider.local:
        # No network involved: the intent is made in this transaction.
        apply_intent(payment, await make_intent(provider, payment, order))
    await session.execute(
        _PAY,
        {
            "platform_fee": order.platform_fee_minor,
            "provider_fee": order.provider_fee_minor,
            "fees": order.fees_minor,
            "total": order.total_minor,
            "provider": provider.name.value,
            "order_id": order.id,
            "id": payment.id,
            "organization_id": order.organization_id,
            "reference": payment.reference,
            "idempotency_key": key,
            "status": payment.status.value,
            "amount_minor": payment.amount_minor,
            "currency": payment.currency,
            "provider_ref": payment.provider_ref,
            "client_secret": payment.client_secret,
            "authorization_url": payment.authorization_url,
        },
    )
    after_commit(session, OrderChanged(order.id))
    return payment


async def _pay_again(
    session: AsyncSession,
    settings: Settings,
    order: Order,
    provider: PaymentProvider,
    key: str,
) -> Payment:
    """An order that already has a provider: the payment of this key again (finishing an
    intent whose answer was lost), or a new payment."""
    payment = await session.scalar(
        select(Payment).where(Payment.order_id == order.id, Payment.idempotency_key == key)
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
        persisted = await session.get(Order, order.id)
        assert persisted is not None
        _price_for(persisted, provider, settings)
        payment = new_payment(persisted, provider, key)
        session.add(payment)
        after_commit(session, OrderChanged(order.id))
    if provider.local and payment.provider_ref is None:
        apply_intent(payment, await make_intent(provider, payment, order))
    await session.flush()
    return payment


async def make_intent(provider: PaymentProvider, payment: Payment, order: Order) -> PaymentIntent:
    return await provider.create_intent(
        amount_minor=payment.amount_minor,
        currency=payment.currency,
        reference=payment.reference,
        email=order.buyer_email,
        idempotency_key=f"{payment.id}",
        metadata={"order_id": str(order.id), "event_id": str(order.event_id)},
    )


async def finish_payment(
    db: Database, provider: PaymentProvider, payment: Payment, order: Order
) -> Payment:
    """After the payment row has committed: ask a remote provider for its intent, and store
    it. A failure marks the payment FAILED (the order stays pending: a later
    `createPayment` tries again) and raises the provider's error."""
    try:
        intent = await make_intent(provider, payment, order)
    except DomainError as error:
        async with db.transaction() as session:
            row = await session.get(Payment, payment.id, with_for_update=True)
            assert row is not None
            if row.reference == payment.reference and row.provider_ref is None:
                row.status, row.failure_reason = PaymentStatus.FAILED, error.message
                after_commit(session, OrderChanged(order.id))
        raise
    async with db.transaction() as session:
        row = await session.get(Payment, payment.id, with_for_update=True)
        assert row is not None
        # A concurrent retry may have moved the payment to a new reference meanwhile: an
        # intent for the old one is not this payment's any more.
        if row.reference == payment.reference:
            apply_intent(row, intent)
            after_commit(session, OrderChanged(order.id))
        return row


def apply_intent(payment: Payment, intent: PaymentIntent) -> None:
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


def _price_for(order: Order, provider: PaymentProvider, settings: Settings) -> None:
    """Fees depend on the provider: recompute the order's totals for this one (pricing
    lives in server.orders.pricing; this only applies its result)."""
    totals = totals_for(
        subtotal=order.subtotal_minor,
        discount=order.discount_minor,
        currency=order.currency,
        settings=settings,
        provider=provider,
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
