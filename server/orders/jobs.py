"""Background work of the orders domain: expiry of holds and pending orders, retrying
refunds, refunding a cancelled event, and purging old idempotency keys.

Every job takes ids, re-checks state and is safe to run twice: expiry and release are
conditional state changes, refunds carry their id as the provider's idempotency key."""

from __future__ import annotations

import uuid
from datetime import timedelta

import structlog
from sqlalchemy import select

from server.clock import utcnow
from server.errors import DomainError
from server.ids import new_id
from server.jobs import queues
from server.jobs.consumers import ConsumerContext, register_consumer
from server.jobs.context import JobContext
from server.jobs.enqueue import enqueue_after_commit
from server.jobs.registry import cron, task
from server.orders import idempotency, lifecycle
from server.orders.models import Order, OrderStatus, Payment, PaymentStatus, Refund, RefundStatus
from server.orders.reconciliation import reconcile_payments
from server.orders.refunds import execute_refund
from server.outbox.models import OutboxEvent
from server.ticketing import holds

log = structlog.get_logger("eventapi.orders.jobs")

EXPIRY_BATCH = 200
MAX_BATCHES = 50  # per run; the next run (seconds later) continues


@cron(
    queue=queues.MAINTENANCE,
    name="orders.expire",
    second={0, 10, 20, 30, 40, 50},
    run_at_startup=True,
)
async def expire_claims(ctx: JobContext) -> dict[str, int]:
    """Release expired holds and pending orders, exactly once each, in batches. Each
    release records the after-commit change (live updates, cache invalidation)."""
    released = {"holds": 0, "orders": 0}
    for _ in range(MAX_BATCHES):
        async with ctx.db.transaction() as session:
            units = await holds.release_expired_holds(session, now=utcnow(), limit=EXPIRY_BATCH)
        async with ctx.db.transaction() as session:
            orders = await lifecycle.expire_due(session, now=utcnow(), limit=EXPIRY_BATCH)
        released["holds"] += units
        released["orders"] += orders
        if units == 0 and orders < EXPIRY_BATCH:
            break
    if released["holds"] or released["orders"]:
        log.info("released expired claims", **released)
    return released


@cron(queue=queues.MAINTENANCE, name="orders.purge_idempotency_keys", minute={17}, second=0)
async def purge_idempotency_keys(ctx: JobContext) -> int:
    async with ctx.db.transaction() as session:
        return await idempotency.purge_expired(session, now=utcnow())


@cron(queue=queues.MAINTENANCE, name="orders.retry_refunds", minute=set(range(0, 60, 5)), second=30)
async def retry_pending_refunds(ctx: JobContext) -> int:
    """Refunds whose provider call failed or never finished are sent again."""
    cutoff = utcnow() - timedelta(minutes=1)
    async with ctx.db.read() as session:
        ids = (
            await session.scalars(
                select(Refund.id)
                .where(Refund.status == RefundStatus.PENDING, Refund.created_at <= cutoff)
                .limit(100)
            )
        ).all()
    done = 0
    for refund_id in ids:
        try:
            await execute_refund(ctx.db, ctx.settings, refund_id=refund_id, now=utcnow())
            done += 1
        except DomainError as error:
            log.warning("refund still failing", refund_id=str(refund_id), error=error.message)
    return done


@cron(queue=queues.MAINTENANCE, name="orders.reconcile_payments", second=45)
async def reconcile(ctx: JobContext) -> dict[str, int]:
    """Every minute: payments whose webhook never came are settled from the provider."""
    report = await reconcile_payments(ctx.db, ctx.settings, now=utcnow())
    return dict(report.__dict__)


@task(queue=queues.MAINTENANCE, name="orders.refund_cancelled_event", max_tries=5)
async def refund_cancelled_event(ctx: JobContext, event_id: str) -> dict[str, int]:
    """An event was cancelled: pending orders are released and confirmed orders refunded
    in full (automatically, through their provider)."""
    event = uuid.UUID(event_id)
    released = refunded = 0
    async with ctx.db.read() as session:
        pending = (
            await session.scalars(
                select(Order.id).where(Order.event_id == event, Order.status == OrderStatus.PENDING)
            )
        ).all()
    for order_id in pending:
        async with ctx.db.transaction() as session:
            released += await lifecycle.release_pending(
                session, order_id=order_id, now=utcnow(), reason="event_cancelled"
            )
    async with ctx.db.read() as session:
        confirmed = (
            await session.scalars(
                select(Order.id).where(
                    Order.event_id == event, Order.status == OrderStatus.CONFIRMED
                )
            )
        ).all()
    for order_id in confirmed:
        refund_id = await _full_refund(ctx, order_id)
        if refund_id is not None:
            try:
                await execute_refund(ctx.db, ctx.settings, refund_id=refund_id, now=utcnow())
                refunded += 1
            except DomainError as error:
                log.warning(
                    "event refund failed; will retry", order_id=str(order_id), error=error.message
                )
    return {"released": released, "refunded": refunded}


async def _full_refund(ctx: JobContext, order_id: uuid.UUID) -> uuid.UUID | None:
    """A pending refund of whatever is left on the order, unless one exists (idempotent).
    A free order has nothing to pay back: its tickets are cancelled at once."""
    async with ctx.db.transaction() as session:
        order = await session.scalar(select(Order).where(Order.id == order_id).with_for_update())
        if order is None or order.status is not OrderStatus.CONFIRMED:
            return None
        existing = await session.scalar(
            select(Refund.id).where(
                Refund.order_id == order.id, Refund.status == RefundStatus.PENDING
            )
        )
        if existing is not None:
            return existing
        remaining = order.total_minor - order.refunded_minor
        if order.total_minor == 0:
            await lifecycle.finish_refund(session, order=order, now=utcnow())
            return None
        if remaining <= 0:
            return None
        payment = await session.scalar(
            select(Payment).where(
                Payment.order_id == order.id,
                Payment.status.in_((PaymentStatus.SUCCEEDED, PaymentStatus.PARTIALLY_REFUNDED)),
            )
        )
        refund = Refund(
            id=new_id(),
            order_id=order.id,
            payment_id=payment.id if payment else None,
            amount_minor=remaining,
            currency=order.currency,
            status=RefundStatus.PENDING,
            reason="The event was cancelled.",
            automatic=True,
        )
        session.add(refund)
        return refund.id


async def _on_event_cancelled(ctx: ConsumerContext, event: OutboxEvent) -> None:
    event_id = event.payload.get("eventId")
    if event_id:
        enqueue_after_commit(
            ctx.session, refund_cancelled_event, str(event_id), job_id=f"refund-event:{event_id}"
        )


register_consumer("event.cancelled", _on_event_cancelled)
