"""Group commit for the hot path of a flash sale.

Every buyer of one ticket type waits for the same inventory row, locked from the
reservation until COMMIT; one order per transaction means one COMMIT (a WAL flush) per
buyer while the others wait. The batcher lets concurrent simple orders of one ticket type
share a transaction: requests queue per ticket type and date; while one batch is in its
transaction, the next gathers; each batch reads the sale once, reserves everything it can
with one conditional statement, inserts its orders with one statement per table and
commits once. Under light load a batch is one order, so nothing waits for company.

What is decided stays where it is decided for single orders: the same checks
(`check_on_sale`, `_check_items`), the same order construction (`new_order`,
`insert_orders`), the same reservation semantics (`take_up_to` is the conditional UPDATE
of `take`, sized to the batch). A batch whose ticket type needs more (price tiers, shared
capacity, per-buyer limits, private types, free tickets) runs each order through
`create_order` in its own savepoint of the batch's transaction instead.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.auth.models import User
from server.auth.service import validate_email
from server.clock import utcnow
from server.db import Database, after_commit
from server.errors import AccessError, DomainError, DomainErrors, Forbidden, ValidationError
from server.events.models import EventStatus
from server.ids import new_id
from server.orders import lifecycle, service
from server.orders.context import SaleContext, TypeOnSale, sale_context
from server.orders.models import Order
from server.orders.pricing import FeePolicy, compute_totals
from server.orders.soldout import SoldOutNotes
from server.outbox.service import emit_many
from server.ticketing import inventory
from server.ticketing.changes import OrderChanged, availability_changing, inventory_changed
from server.ticketing.errors import NotEnoughLeft, SoldOut
from server.ticketing.models import Visibility
from server.ticketing.pricing import PriceLine

log = structlog.get_logger("eventapi.orders.batching")

MAX_BATCH = 200


@dataclass(frozen=True, slots=True)
class SimpleOrder:
    """One ticket type, general admission, no hold, promo code or idempotency key, by a
    signed-in user or a guest (API keys go through `create_order`)."""

    actor: Actor
    buyer_email: str | None
    event_id: uuid.UUID
    occurrence_id: uuid.UUID | None
    ticket_type_id: uuid.UUID
    quantity: int

    @property
    def item(self) -> service.ItemRequest:
        return service.ItemRequest(self.ticket_type_id, self.quantity)


Key = tuple[uuid.UUID, uuid.UUID | None, uuid.UUID]


@dataclass
class _Waiting:
    request: SimpleOrder
    future: asyncio.Future[Order]


@dataclass
class OrderBatcher:
    db: Database
    order_ttl: int
    fees: FeePolicy
    sold_out: SoldOutNotes | None = None
    max_batch: int = MAX_BATCH
    _queues: dict[Key, deque[_Waiting]] = field(default_factory=dict)
    _draining: set[Key] = field(default_factory=set)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def place(self, request: SimpleOrder) -> Order:
        """The order, or the same error `create_order` would raise for it."""
        key = (request.event_id, request.occurrence_id, request.ticket_type_id)
        future: asyncio.Future[Order] = asyncio.get_running_loop().create_future()
        self._queues.setdefault(key, deque()).append(_Waiting(request, future))
        if key not in self._draining:
            self._draining.add(key)
            task = asyncio.create_task(self._drain(key))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _drain(self, key: Key) -> None:
        queue = self._queues[key]
        try:
            while queue:
                batch = [queue.popleft() for _ in range(min(len(queue), self.max_batch))]
                try:
                    outcomes = await self._run(batch)
                except Exception as error:  # the batch's transaction failed as a whole
                    log.exception("order batch failed", size=len(batch))
                    outcomes = [error] * len(batch)
                for waiting, outcome in zip(batch, outcomes, strict=True):
                    if waiting.future.done():
                        continue
                    if isinstance(outcome, BaseException):
                        waiting.future.set_exception(outcome)
                    else:
                        waiting.future.set_result(outcome)
        finally:
            self._draining.discard(key)
            if not queue:
                self._queues.pop(key, None)

    async def _run(self, batch: list[_Waiting]) -> list[Order | BaseException]:
        now = utcnow()
        first = batch[0].request
        async with self.db.transaction() as session:
            sale = await sale_context(
                session,
                event_id=first.event_id,
                occurrence_id=first.occurrence_id,
                type_ids=[first.ticket_type_id],
            )
            kind = sale.types.get(first.ticket_type_id) if sale is not None else None
            if sale is None or kind is None or not _simple(sale, kind):
                return await self._one_by_one(session, batch, now)
            return await self._together(session, batch, sale, kind, now)

    async def _one_by_one(
        self, session: AsyncSession, batch: list[_Waiting], now: datetime
    ) -> list[Order | BaseException]:
        """Each order through `create_order`, in its own savepoint of the shared transaction."""
        outcomes: list[Order | BaseException] = []
        for waiting in batch:
            r = waiting.request
            try:
                async with session.begin_nested():
                    order = await service.create_order(
                        session,
                        actor=r.actor,
                        event_id=r.event_id,
                        occurrence_id=r.occurrence_id,
                        items=[r.item],
                        promo_code=None,
                        hold_token=None,
                        idempotency_key=None,
                        buyer_email=r.buyer_email,
                        now=now,
                        order_ttl=self.order_ttl,
                        fees=self.fees,
                        sold_out=self.sold_out,
                    )
                outcomes.append(order)
            except (DomainError, DomainErrors, AccessError) as error:
                outcomes.append(error)
        return outcomes

    async def _together(
        self,
        session: AsyncSession,
        batch: list[_Waiting],
        sale: SaleContext,
        kind: TypeOnSale,
        now: datetime,
    ) -> list[Order | BaseException]:
        outcomes: list[Order | BaseException | None] = [None] * len(batch)
        buyers = await _buyers(session, [w.request for w in batch])
        occurrence_id = next(iter(sale.occurrence_ids))
        wanted: list[int] = []  # indexes of the requests that passed every check
        for n, waiting in enumerate(batch):
            r = waiting.request
            try:
                buyer = buyers[n]
                if isinstance(buyer, BaseException):
                    raise buyer
                service.check_items_shape([r.item])
                service.check_on_sale(
                    sale,
                    actor=r.actor,
                    buyer=buyer,
                    occurrence_id=r.occurrence_id,
                    items=[r.item],
                    now=now,
                )
                service.check_items([r.item], sale.types, None, False, now)
                wanted.append(n)
            except (DomainError, DomainErrors, AccessError) as error:
                outcomes[n] = error
        if wanted:
            await availability_changing(session, sale.event_id)
            total = sum(batch[n].request.quantity for n in wanted)
            taken = await inventory.take_up_to(
                session, inventory_id=kind.inventory_id, quantity=total, now=now
            )
            granted, left = [], taken
            for n in wanted:
                quantity = batch[n].request.quantity
                if quantity <= left:
                    granted.append(n)
                    left -= quantity
                else:
                    outcomes[n] = (
                        SoldOut(field=["items", "0", "quantity"])
                        if left == 0
                        else NotEnoughLeft(left, field=["items", "0", "quantity"])
                    )
            if left:
                await inventory.give_back(
                    session, inventory_id=kind.inventory_id, quantity=left, counter="reserved"
                )
            if taken < total and self.sold_out is not None and left == 0:
                await self.sold_out.note(sale.event_id, batch[0].request.occurrence_id, kind.id)
            if granted:
                orders = await self._insert(
                    session, batch, granted, buyers, sale, kind, occurrence_id, now
                )
                for n, order in zip(granted, orders, strict=True):
                    outcomes[n] = order
                inventory_changed(session, sale.event_id, occurrence_id, marked=True)
        return [o if o is not None else ValidationError("Not processed.") for o in outcomes]

    async def _insert(
        self,
        session: AsyncSession,
        batch: list[_Waiting],
        granted: list[int],
        buyers: list[service.Buyer | BaseException],
        sale: SaleContext,
        kind: TypeOnSale,
        occurrence_id: uuid.UUID,
        now: datetime,
    ) -> list[Order]:
        orders, items, events = [], [], []
        expires_at = now + timedelta(seconds=self.order_ttl)
        for n in granted:
            r = batch[n].request
            buyer = buyers[n]
            assert isinstance(buyer, service.Buyer)
            order_id = new_id()
            line = PriceLine(None, kind.price_minor, r.quantity)
            totals = compute_totals(
                subtotal=line.unit_price * line.quantity, discount=0, policy=self.fees
            )
            order = service.new_order(
                order_id=order_id,
                sale=sale,
                occurrence_id=occurrence_id,
                buyer=buyer,
                currency=kind.currency,
                totals=totals,
                promo_code_id=None,
                hold_id=None,
                expires_at=expires_at,
                now=now,
            )
            orders.append(order)
            items += service.order_items(order_id, [(r.item, line)], sale.types, None)
            events.append(("order.created", order.organization_id, lifecycle.order_payload(order)))
            after_commit(session, OrderChanged(order_id))
        await service.insert_orders(session, orders, items)
        await emit_many(session, events)
        return orders


def _simple(sale: SaleContext, kind: TypeOnSale) -> bool:
    """Orders of this ticket type can be decided together (see the module docstring)."""
    return (
        sale.status is EventStatus.PUBLISHED
        and sale.capacity is None
        and not kind.has_tiers
        and kind.max_per_buyer is None
        and kind.visibility is Visibility.PUBLIC
        and not kind.sections
        and kind.price_minor > 0
    )


async def _buyers(
    session: AsyncSession, requests: list[SimpleOrder]
) -> list[service.Buyer | BaseException]:
    """Each request's buyer, as `create_order` would find it: the signed-in user (one
    query for the batch), or the guest's validated email."""
    user_ids = {r.actor.user_id for r in requests if r.actor.user_id is not None}
    emails: dict[uuid.UUID, str] = {}
    if user_ids:
        rows = await session.execute(select(User.id, User.email).where(User.id.in_(user_ids)))
        emails = {user_id: email for user_id, email in rows}
    result: list[service.Buyer | BaseException] = []
    for r in requests:
        try:
            if r.actor.user_id is not None:
                if r.actor.user_id not in emails:
                    raise Forbidden("This account no longer exists.")
                result.append(service.Buyer(r.actor.user_id, emails[r.actor.user_id]))
            elif not r.buyer_email:
                raise ValidationError(
                    "Sign in, or give the buyer's email (buyerEmail).", field="buyerEmail"
                )
            else:
                result.append(service.Buyer(None, validate_email(r.buyer_email, "buyerEmail")))
        except (DomainError, AccessError) as error:
            result.append(error)
    return result
