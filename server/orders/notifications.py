"""Mail to buyers, driven by outbox events: the order confirmation with every ticket's QR
code, refund notices, and cancellation notices (a cancelled order, or a cancelled event).

Consumers only enqueue a job; the job loads the order as it is then, renders the notice
and sends it once (the mail task remembers each notice's idempotency key)."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import select

from server.auth.models import User
from server.events.models import Event, EventOccurrence
from server.jobs import queues
from server.jobs.consumers import ConsumerContext, register_consumer
from server.jobs.context import JobContext
from server.jobs.enqueue import enqueue_after_commit
from server.jobs.registry import task
from server.mail.jobs import deliver_mail
from server.mail.notices import (
    CancellationNotice,
    OrderConfirmation,
    OrderLine,
    RefundNotice,
    TicketQr,
    render_notice,
)
from server.orders.models import Order, OrderItem
from server.outbox.models import OutboxEvent
from server.ticketing.models import TicketType
from server.tickets.images import qr_png
from server.tickets.models import ISSUE_ORDER, Ticket
from server.venues.models import Venue


def _order_number(order: Order) -> str:
    return order.id.hex[-10:].upper()


async def _context(ctx: JobContext, order_id: uuid.UUID) -> tuple[Order, Event, str] | None:
    async with ctx.db.read() as session:
        order = await session.get(Order, order_id)
        if order is None:
            return None
        event = await session.get(Event, order.event_id)
        user = await session.get(User, order.buyer_user_id) if order.buyer_user_id else None
    assert event is not None
    name = user.name if user is not None else order.buyer_email.split("@", 1)[0]
    return order, event, name


@task(queue=queues.MAIL, name="orders.mail_confirmation", max_tries=8, retry_delay=30.0)
async def mail_confirmation(ctx: JobContext, order_id: str) -> str | None:
    found = await _context(ctx, uuid.UUID(order_id))
    if found is None:
        return None
    order, event, name = found
    async with ctx.db.read() as session:
        items = (
            await session.scalars(select(OrderItem).where(OrderItem.order_id == order.id))
        ).all()
        types = {
            t.id: t
            for t in (
                await session.scalars(
                    select(TicketType).where(TicketType.id.in_([i.ticket_type_id for i in items]))
                )
            ).all()
        }
        tickets = (
            await session.scalars(
                select(Ticket).where(Ticket.order_id == order.id).order_by(*ISSUE_ORDER)
            )
        ).all()
        occurrence = await session.get(EventOccurrence, order.occurrence_id)
        venue = await session.get(Venue, event.venue_id) if event.venue_id else None
    images = await asyncio.gather(*[asyncio.to_thread(qr_png, t.qr_payload) for t in tickets])
    notice = OrderConfirmation(
        order_id=str(order.id),
        to=order.buyer_email,
        customer_name=name,
        order_number=_order_number(order),
        event_name=event.title,
        currency=order.currency,
        lines=tuple(
            OrderLine(types[i.ticket_type_id].name, i.quantity, i.subtotal_minor) for i in items
        ),
        subtotal=order.subtotal_minor,
        discount=order.discount_minor,
        fees=order.fees_minor,
        total=order.total_minor,
        tickets=tuple(
            TicketQr(code=t.id.hex[-8:].upper(), ticket_type=types[t.ticket_type_id].name, png=png)
            for t, png in zip(tickets, images, strict=True)
        ),
        starts_at=occurrence.starts_at if occurrence else None,
        venue=venue.name if venue else None,
    )
    return await deliver_mail(
        ctx.settings, ctx.redis, render_notice(notice, base_url=ctx.settings.base_url)
    )


@task(queue=queues.MAIL, name="orders.mail_refund", max_tries=8, retry_delay=30.0)
async def mail_refund(ctx: JobContext, order_id: str, amount: int, event_id: str) -> str | None:
    found = await _context(ctx, uuid.UUID(order_id))
    if found is None:
        return None
    order, event, name = found
    notice = RefundNotice(
        refund_id=event_id,
        to=order.buyer_email,
        customer_name=name,
        order_number=_order_number(order),
        event_name=event.title,
        amount=amount,
        currency=order.currency,
    )
    return await deliver_mail(
        ctx.settings, ctx.redis, render_notice(notice, base_url=ctx.settings.base_url)
    )


@task(queue=queues.MAIL, name="orders.mail_cancellation", max_tries=8, retry_delay=30.0)
async def mail_cancellation(ctx: JobContext, order_id: str, reason: str) -> str | None:
    found = await _context(ctx, uuid.UUID(order_id))
    if found is None:
        return None
    order, event, name = found
    notice = CancellationNotice(
        order_id=str(order.id),
        to=order.buyer_email,
        customer_name=name,
        order_number=_order_number(order),
        event_name=event.title,
        cause="event" if reason == "event_cancelled" else "order",
        currency=order.currency,
        reason=event.cancel_reason if reason == "event_cancelled" else None,
    )
    return await deliver_mail(
        ctx.settings, ctx.redis, render_notice(notice, base_url=ctx.settings.base_url)
    )


async def _on_confirmed(ctx: ConsumerContext, event: OutboxEvent) -> None:
    order_id = str(event.payload["orderId"])
    enqueue_after_commit(
        ctx.session, mail_confirmation, order_id, job_id=f"mail-confirmation:{order_id}"
    )


async def _on_refunded(ctx: ConsumerContext, event: OutboxEvent) -> None:
    order_id = str(event.payload["orderId"])
    amount = int(event.payload.get("refundAmount") or 0)
    enqueue_after_commit(
        ctx.session, mail_refund, order_id, amount, str(event.id), job_id=f"mail-refund:{event.id}"
    )


async def _on_cancelled(ctx: ConsumerContext, event: OutboxEvent) -> None:
    reason = str(event.payload.get("reason") or "")
    if reason == "expired":
        return  # an abandoned checkout is not news to the buyer
    order_id = str(event.payload["orderId"])
    enqueue_after_commit(
        ctx.session, mail_cancellation, order_id, reason, job_id=f"mail-cancel:{order_id}"
    )


register_consumer("order.confirmed", _on_confirmed)
register_consumer("order.refunded", _on_refunded)
register_consumer("order.cancelled", _on_cancelled)
