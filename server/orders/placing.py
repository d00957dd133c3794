"""Placing an order: the one way an order is placed. GraphQL, REST, jobs and the waitlist
all call `OrderDesk.place`; the app creates the desk with its lifespan.

Concurrent orders for the same sale (event and date) share a transaction (group commit,
`server.groupcommit`), whatever they carry: signed-in buyers, guests and API keys,
idempotency keys, promo codes, holds, seats, several lines, price tiers, shared capacity,
per-buyer limits, private types, and the first payment (checkout in one request). The
transaction is `server.orders.booking`, which gives each order the outcome it would have
had alone at its turn. If a batch fails as a whole (a deadlock with another process, a
lock timeout, a fault), each of its orders is booked again alone, so one order's trouble
is never another's; an order that meets a deadlock or a lock timeout alone is answered
CONFLICT ("try again").

Around the batch:
- the crowd that arrives after the last ticket is refused from a Redis note, without a
  transaction (the note only refuses; PostgreSQL decides every sale);
- a retry of an idempotency key whose first request is still in flight in this process
  waits for it and gets its result (across processes the key row decides: see
  `server.orders.idempotency`);
- a remote provider's intent (Stripe, Paystack) is asked for after the commit, in the
  caller's task, never inside the batch.
"""

from __future__ import annotations

import asyncio
import uuid

import structlog
from redis.asyncio import Redis
from sqlalchemy.exc import DBAPIError

from server.auth.emails import normalize_email, validate_email
from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.errors import Conflict, DomainError
from server.groupcommit import GroupCommit
from server.orders import payments
from server.orders.booking import Booked, Booking, Slot, scope
from server.orders.errors import KeyReused
from server.orders.models import OrderStatus
from server.orders.requests import OrderRequest, PlacedOrder
from server.orders.soldout import SoldOutNotes
from server.payments.base import PaymentProvider
from server.payments.registry import get_provider
from server.replicas.positions import note_callers
from server.ticketing.errors import SoldOut

log = structlog.get_logger("eventapi.orders.placing")

MAX_BATCH = 200
# Deadlock, lock timeout, serialization failure: the batch may succeed alone.
RETRYABLE = {"40P01", "55P03", "40001"}

SaleKey = tuple[uuid.UUID, uuid.UUID | None]


class Busy(Conflict):
    message = "Tickets are in high demand right now; please try again."


class OrderDesk:
    def __init__(
        self, db: Database, settings: Settings, redis: Redis, *, max_batch: int = MAX_BATCH
    ) -> None:
        self.db = db
        self.settings = settings
        self.sold_out = SoldOutNotes(redis)
        self._group: GroupCommit[SaleKey, tuple[OrderRequest, PaymentProvider | None], Booked] = (
            GroupCommit(self._run, max_batch=max_batch)
        )
        self._keys: dict[tuple[str, str], tuple[tuple[object, ...], asyncio.Task[PlacedOrder]]] = {}

    async def place(self, request: OrderRequest) -> PlacedOrder:
        """Place the order, or raise the domain error (or access error) that refuses it."""
        provider = self._provider(request)
        flight = _flight_key(request)
        if flight is None:
            return await self._place(request, provider)
        found = self._keys.get(flight)
        if found is not None:
            shape, task = found
            if shape != _shape(request):
                raise KeyReused(field="idempotencyKey")
            return await asyncio.shield(task)
        task = asyncio.create_task(self._place(request, provider))
        self._keys[flight] = (_shape(request), task)
        task.add_done_callback(lambda done: self._forget(flight, done))
        return await asyncio.shield(task)

    async def close(self) -> None:
        """Let the orders under way finish (the app is stopping)."""
        await self._group.close()
        await asyncio.gather(*[task for _, task in self._keys.values()], return_exceptions=True)

    def _forget(self, flight: tuple[str, str], task: asyncio.Task[PlacedOrder]) -> None:
        self._keys.pop(flight, None)
        if not task.cancelled():
            task.exception()  # retrieved: the waiters have seen it

    def _provider(self, request: OrderRequest) -> PaymentProvider | None:
        if request.payment_provider is None:
            return None
        try:
            return get_provider(request.payment_provider, self.settings)
        except DomainError as error:
            raise DomainError(
                error.message, field=["payment", "provider"], code=error.code
            ) from None

    async def _place(self, request: OrderRequest, provider: PaymentProvider | None) -> PlacedOrder:
        try:
            booked = await self._group.submit(request.sale_key, (request, provider))
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) in RETRYABLE:
                raise Busy() from None
            raise
        if booked.replayed:
            return await self._replayed(request, booked)
        if booked.remote is not None:
            assert booked.payment is not None
            try:
                payment = await payments.finish_payment(
                    self.db, booked.remote, booked.payment, booked.order
                )
            except DomainError as error:
                return PlacedOrder(booked.order, None, payment_error=error, items=booked.items)
            return PlacedOrder(booked.order, payment, items=booked.items)
        return PlacedOrder(booked.order, booked.payment, items=booked.items)

    async def _replayed(self, request: OrderRequest, booked: Booked) -> PlacedOrder:
        """A retried key: the earlier order, and with checkout its payment as a retried
        `createPayment` would give it (finishing an intent the first attempt lost)."""
        order = booked.order
        if request.payment_provider is None or order.status is not OrderStatus.PENDING:
            return PlacedOrder(order)
        try:
            payment = await payments.create_payment(
                self.db,
                self.settings,
                actor=request.actor,
                order_id=order.id,
                provider_name=request.payment_provider,
                idempotency_key=None,
                now=utcnow(),
            )
        except DomainError as error:
            return PlacedOrder(order, None, payment_error=error)
        return PlacedOrder(order, payment)

    async def _run(
        self, key: SaleKey, requests: list[tuple[OrderRequest, PaymentProvider | None]]
    ) -> list[Booked | BaseException]:
        event_id, occurrence_id = key
        slots = [Slot(request, provider) for request, provider in requests]
        types = sorted({i.ticket_type_id for s in slots for i in s.request.items})
        noted = await self.sold_out.noted(event_id, occurrence_id, types)
        for slot in slots:
            # The crowd after the last ticket, answered without PostgreSQL. A keyed request
            # may be the retry of an order that went through: the database answers it.
            r = slot.request
            if (
                r.idempotency_key is None
                and r.hold_token is None
                and any(i.ticket_type_id in noted for i in r.items)
            ):
                slot.refuse(SoldOut(field=["items", "0", "quantity"]))
        waiting = [s for s in slots if s.open]
        if waiting:
            async with self.db.transaction() as session:
                note_callers(session, (s.request.actor for s in waiting))
                booking = Booking(session, self.settings, self.sold_out, noted, utcnow())
                await booking.book(waiting)
        outcomes: list[Booked | BaseException] = []
        for slot in slots:
            assert slot.outcome is not None
            outcomes.append(slot.outcome)
        return outcomes


def _flight_key(request: OrderRequest) -> tuple[str, str] | None:
    if request.idempotency_key is None:
        return None
    email = ""
    if request.actor.is_anonymous:
        try:
            email = validate_email(request.buyer_email or "", "buyerEmail")
        except DomainError:
            return None  # refused in its batch
    return scope(request, email), request.idempotency_key


def _shape(request: OrderRequest) -> tuple[object, ...]:
    """What makes two requests with one idempotency key the same request."""
    return (
        request.event_id,
        request.occurrence_id,
        tuple(
            sorted((i.ticket_type_id, i.quantity, tuple(sorted(i.seat_ids))) for i in request.items)
        ),
        (request.promo_code or "").strip().lower(),
        request.hold_token,
        normalize_email(request.buyer_email or ""),
        request.payment_provider,
    )
