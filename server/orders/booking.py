"""Booking: the orders of one batch decided inside one transaction.

Every order shape goes through here, alone or with company. The batch reads what it needs
once (buyers, idempotency keys, the sale, holds), checks each order against the rules of
`server.orders.rules`, then locks what the orders will take, in the global lock order of
docs/inventory.md (buyer-limit advisory locks, holds, inventory rows, capacity, price tiers,
promo codes), and decides the orders one by one in arrival order, in memory, against what
the orders before them left: an order's outcome is the one it would have had alone at its
turn. Seats, which PostgreSQL decides (a unique index), are taken in a savepoint per
seated order. Then everything is written with one statement per table.

An error attributable to one order becomes that order's outcome and undoes its share;
anything else fails the batch as a whole (the caller then books each order alone).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.emails import validate_email
from server.auth.models import User
from server.config import Settings
from server.db import after_commit
from server.errors import AccessError, DomainError, DomainErrors, Forbidden, ValidationError
from server.ids import new_id
from server.orders import idempotency, lifecycle, payments, rules
from server.orders.context import SaleContext, sale_context
from server.orders.errors import KeyReused
from server.orders.limits import BuyerLimits
from server.orders.models import Order, OrderItem, Payment
from server.orders.recording import insert_orders, new_order, order_items
from server.orders.requests import Buyer, ItemRequest, OrderRequest
from server.orders.soldout import SoldOutNotes
from server.organizations.access import Permission, readable_organization_ids
from server.outbox.service import emit_many
from server.payments.base import PaymentProvider
from server.promotions.discounts import PricedLine
from server.promotions.errors import InvalidPromoCode
from server.promotions.redemptions import PromoLedger, normalize_code
from server.replicas.positions import note_callers
from server.ticketing import seats
from server.ticketing.changes import OrderChanged, availability_changing, inventory_changed
from server.ticketing.errors import SoldOut
from server.ticketing.holds import HoldLedger, holds_by_token
from server.ticketing.inventory import Claim, StockLedger
from server.ticketing.models import Hold, Visibility
from server.ticketing.pricing import PriceLine, TierLedger
from server.waitlist import hooks as waitlist

Refusal = DomainError | DomainErrors | AccessError
# When the first unit reserved or held on an inventory row may come back on sale.
_NEXT_RELEASE = text(
    """
    SELECT least(
        (SELECT min(o.expires_at) FROM order_items AS i JOIN orders AS o ON o.id = i.order_id
         WHERE i.inventory_id = :id AND o.status = 'pending'),
        (SELECT min(expires_at) FROM holds WHERE inventory_id = :id AND released_at IS NULL))
    """
)
REFUSALS = (DomainError, DomainErrors, AccessError)


@dataclass(slots=True)
class Booked:
    """A placed order (or an earlier one, for a retried idempotency key) and the payment
    made with it; `remote` names the provider still to ask for the payment's intent."""

    order: Order
    payment: Payment | None = None
    remote: PaymentProvider | None = None
    replayed: bool = False
    items: list[OrderItem] | None = None


@dataclass(slots=True)
class Slot:
    request: OrderRequest
    provider: PaymentProvider | None = None
    outcome: Booked | BaseException | None = None
    buyer: Buyer | None = None
    key_id: uuid.UUID | None = None
    key_claimed: bool = False  # the key row is this request's (not an earlier one's)
    hold: Hold | None = None
    order_id: uuid.UUID = field(default_factory=new_id)

    @property
    def open(self) -> bool:
        return self.outcome is None

    def refuse(self, error: BaseException) -> None:
        self.outcome = error


@dataclass
class Booking:
    """One batch's transaction: `book` decides every open slot."""

    session: AsyncSession
    settings: Settings
    sold_out: SoldOutNotes
    noted: set[uuid.UUID]  # ticket types noted sold out when the batch began
    now: datetime
    sale: SaleContext | None = None
    _rows: list[tuple[Order, list[OrderItem], Payment | None]] = field(default_factory=list)

    async def book(self, slots: list[Slot]) -> None:
        await self.session.execute(
            text("SELECT set_config('lock_timeout', :ms, true)"),
            {"ms": f"{self.settings.order_lock_timeout}ms"},
        )
        await self._find_buyers(slots)
        await self._claim_keys(slots)
        for slot in self._open(slots):
            if slot.request.hold_token is None and self._noted(slot):
                slot.refuse(SoldOut(field=["items", "0", "quantity"]))
        first = next(iter(self._open(slots)), None)
        if first is not None:
            self.sale = await sale_context(
                self.session,
                event_id=first.request.event_id,
                occurrence_id=first.request.occurrence_id,
                type_ids=sorted({i.ticket_type_id for s in slots for i in s.request.items}),
            )
            await self._check(slots)
        if self._open(slots):
            await self._reserve(slots)
        await self._release_keys(slots)

    async def _release_keys(self, slots: list[Slot]) -> None:
        """A refused order leaves its idempotency key unused, as if it had never been
        sent (its transaction is shared with the orders that went through)."""
        unused = [
            s.key_id
            for s in slots
            if s.key_claimed and s.key_id is not None and not isinstance(s.outcome, Booked)
        ]
        if unused:
            await self.session.execute(
                text("DELETE FROM idempotency_keys WHERE id = ANY(CAST(:ids AS uuid[]))"),
                {"ids": unused},
            )

    def _open(self, slots: list[Slot]) -> list[Slot]:
        return [s for s in slots if s.open]

    def _noted(self, slot: Slot) -> bool:
        return any(i.ticket_type_id in self.noted for i in slot.request.items)

    async def _find_buyers(self, slots: list[Slot]) -> None:
        """Each order's buyer: the signed-in user (one query for the batch), or the guest's
        validated email."""
        user_ids = {s.request.actor.user_id for s in slots if s.request.actor.user_id is not None}
        emails: dict[uuid.UUID, str] = {}
        if user_ids:
            rows = await self.session.execute(
                select(User.id, User.email).where(User.id.in_(user_ids))
            )
            emails = {user_id: email for user_id, email in rows}
        for slot in self._open(slots):
            r = slot.request
            try:
                if r.actor.user_id is not None:
                    if r.actor.user_id not in emails:
                        raise Forbidden("This account no longer exists.")
                    slot.buyer = Buyer(r.actor.user_id, emails[r.actor.user_id])
                elif not r.buyer_email:
                    raise ValidationError(
                        "Sign in, or give the buyer's email (buyerEmail).", field="buyerEmail"
                    )
                else:
                    slot.buyer = Buyer(None, validate_email(r.buyer_email, "buyerEmail"))
                rules.check_items_shape(r.items)
                if r.idempotency_key is not None:
                    idempotency.check_key(r.idempotency_key)
            except REFUSALS as error:
                slot.refuse(error)

    async def _claim_keys(self, slots: list[Slot]) -> None:
        """Claim the idempotency keys; a retried key gets its earlier order back (even once
        the ticket type has sold out), a key reused with other input a conflict."""
        keyed = [s for s in self._open(slots) if s.request.idempotency_key is not None]
        if not keyed:
            return
        claims = [_key_claim(s) for s in keyed]
        results = await idempotency.claim(
            self.session, claims, operation="createOrder", now=self.now
        )
        earlier: dict[uuid.UUID, Slot] = {}
        for slot, result in zip(keyed, results, strict=True):
            if isinstance(result, KeyReused):
                slot.refuse(result)
                continue
            slot.key_id, earlier_id = result
            if earlier_id is not None:
                earlier[earlier_id] = slot
            else:
                slot.key_claimed = True
        if earlier:
            found = await self.session.scalars(select(Order).where(Order.id.in_(list(earlier))))
            for order in found:
                earlier[order.id].outcome = Booked(order, replayed=True)
            for slot in earlier.values():
                slot.key_claimed = slot.open  # an earlier order since deleted: start over

    async def _check(self, slots: list[Slot]) -> None:
        """The rules that need no lock, in the order a single order meets them."""
        sale = self.sale
        for slot in self._open(slots):
            r = slot.request
            assert slot.buyer is not None
            try:
                await rules.check_sale(
                    self.session,
                    sale,
                    actor=r.actor,
                    buyer=slot.buyer,
                    occurrence_id=r.occurrence_id,
                    items=r.items,
                    now=self.now,
                )
            except REFUSALS as error:
                slot.refuse(error)
        assert sale is not None or not self._open(slots)
        tokens = [s.request.hold_token for s in self._open(slots) if s.request.hold_token]
        found = await holds_by_token(self.session, tokens)
        members: dict[object, bool] = {}
        for slot in self._open(slots):
            r = slot.request
            assert sale is not None
            try:
                if r.hold_token:
                    assert slot.buyer is not None
                    slot.hold = _active_hold(found.get(r.hold_token), self.now)
                    # A waitlist offer is for the buyer it was made to.
                    await waitlist.check_offer_redeemer(
                        self.session,
                        hold_id=slot.hold.id,
                        email=slot.buyer.email,
                        user_id=slot.buyer.user_id,
                    )
                private = any(
                    sale.types[i.ticket_type_id].visibility is Visibility.PRIVATE for i in r.items
                )
                member = False
                if private:
                    actor_key = (r.actor.user_id, r.actor.api_key_id)
                    if actor_key not in members:
                        readable = await readable_organization_ids(
                            self.session, r.actor, Permission.EVENTS_READ
                        )
                        members[actor_key] = sale.organization_id in readable
                    member = members[actor_key]
                rules.check_items(r.items, sale.types, slot.hold, member, self.now)
            except REFUSALS as error:
                slot.refuse(error)

    async def _reserve(self, slots: list[Slot]) -> None:
        sale = self.sale
        assert sale is not None
        session, now = self.session, self.now
        open_slots = self._open(slots)
        limited = sorted(
            {
                (s.buyer, i.ticket_type_id)
                for s in open_slots
                if s.buyer is not None
                for i in s.request.items
                if sale.types[i.ticket_type_id].max_per_buyer is not None
            },
            key=lambda pair: (pair[0].key, pair[1]),
        )
        limits = await BuyerLimits.lock(session, limited)
        await availability_changing(session, sale.event_id)
        holds = await HoldLedger.lock(
            session, [s.request.hold_token for s in open_slots if s.request.hold_token], now
        )
        demand: dict[uuid.UUID, int] = {}
        for slot in open_slots:
            for item in slot.request.items:
                inventory_id = sale.types[item.ticket_type_id].inventory_id
                held = slot.hold is not None and slot.hold.ticket_type_id == item.ticket_type_id
                demand[inventory_id] = demand.get(inventory_id, 0) + (0 if held else item.quantity)
        occurrence_id = next(iter(sale.occurrence_ids))
        stock = await StockLedger.lock(
            session,
            demand=demand,
            capped_occurrences=[occurrence_id] if sale.capacity is not None else [],
            now=now,
        )
        tiers = await TierLedger.lock(session, [t.id for t in sale.types.values() if t.has_tiers])
        codes = sorted({c for s in open_slots if (c := _code(s.request.promo_code))})
        promos = (
            await PromoLedger.lock(
                session,
                organization_id=sale.organization_id,
                codes=codes,
                buyer_keys=[s.buyer.key for s in open_slots if s.buyer and s.request.promo_code],
            )
            if codes
            else None
        )
        sold_out: set[uuid.UUID] = set()
        for slot in open_slots:
            await self._decide(slot, limits, holds, stock, tiers, promos, sold_out)

        await holds.apply(session, now=now)
        await stock.apply(session)
        await tiers.apply(session)
        if promos is not None:
            await promos.apply(session, organization_id=sale.organization_id, now=now)
        await self._record(slots, occurrence_id)
        for type_id in sorted(sold_out):
            inventory_id = sale.types[type_id].inventory_id
            if stock.left(inventory_id) == 0:
                await self.sold_out.note(
                    sale.event_id,
                    slots[0].request.occurrence_id,
                    type_id,
                    now=now,
                    next_release=await session.scalar(_NEXT_RELEASE, {"id": inventory_id}),
                )

    async def _decide(
        self,
        slot: Slot,
        limits: BuyerLimits,
        holds: HoldLedger,
        stock: StockLedger,
        tiers: TierLedger,
        promos: PromoLedger | None,
        sold_out: set[uuid.UUID],
    ) -> None:
        """One order at its turn: limits, stock, price tiers, seats, promo code, totals.
        A refusal puts back what the order took, so the orders after it see the rest."""
        sale, r, buyer, now = self.sale, slot.request, slot.buyer, self.now
        assert sale is not None and buyer is not None
        types = sale.types
        held_type = slot.hold.ticket_type_id if slot.hold is not None else None
        counted: list[tuple[uuid.UUID, int]] = []
        taken = None
        redeemed: list[tuple[uuid.UUID, int]] = []
        lines: list[tuple[int, PriceLine]] = []
        try:
            counted = limits.take(buyer, r.items, {t.id: t.max_per_buyer for t in types.values()})
            claims = []
            for item in r.items:
                inventory_id = types[item.ticket_type_id].inventory_id
                if item.ticket_type_id == held_type:
                    redeemed.append((inventory_id, item.quantity))
                else:
                    claims.append(Claim(inventory_id, item.quantity))
            fields = {
                types[item.ticket_type_id].inventory_id: ["items", str(n), "quantity"]
                for n, item in enumerate(r.items)
            }
            try:
                taken = stock.take(claims, redeemed=redeemed, fields=fields)
            except SoldOut as error:
                if error.field and len(r.items) == 1:
                    sold_out.add(r.items[0].ticket_type_id)
                raise
            if redeemed:
                assert r.hold_token is not None
                try:
                    holds.redeem(r.hold_token, inventory_id=redeemed[0][0], quantity=redeemed[0][1])
                except REFUSALS:
                    stock.put_back(taken)
                    taken = None
                    raise
            for n, item in sorted(enumerate(r.items), key=lambda pair: pair[1].ticket_type_id):
                kind = types[item.ticket_type_id]
                for line in tiers.price(
                    kind.id, base_price=kind.price_minor, quantity=item.quantity, now=now
                ):
                    lines.append((n, line))
            if any(item.seat_ids for item in r.items):
                await self._take_seats(slot)
            subtotal = sum(line.unit_price * line.quantity for _, line in lines)
            currency = next(iter(types.values())).currency
            discount, code_id = 0, None
            if r.promo_code:
                code = normalize_code(r.promo_code)
                assert promos is not None  # every valid code of the batch is locked
                redemption = promos.redeem(
                    code,
                    buyer_key=buyer.key,
                    lines=[
                        PricedLine(r.items[n].ticket_type_id, line.unit_price, line.quantity)
                        for n, line in lines
                    ],
                    event_id=sale.event_id,
                    currency=currency,
                    order_id=slot.order_id,
                    now=now,
                )
                discount, code_id = redemption.discount, redemption.code_id
        except REFUSALS as error:
            limits.put_back(buyer, counted)
            if taken is not None:
                stock.put_back(taken)
                if redeemed and r.hold_token is not None:
                    holds.put_back(r.hold_token, redeemed[0][1])
            for n, line in lines:
                tiers.put_back(r.items[n].ticket_type_id, [line])
            slot.refuse(error)
            return
        self._build(slot, [(r.items[n], line) for n, line in lines], subtotal, discount, code_id)

    async def _take_seats(self, slot: Slot) -> None:
        """Seats are decided by PostgreSQL (the unique index over active allocations), so a
        seated order takes them in a savepoint of its own: a seat lost to a concurrent buyer
        undoes only this order's seats."""
        sale, r = self.sale, slot.request
        assert sale is not None
        occurrence_id = next(iter(sale.occurrence_ids))
        expires_at = self.now + timedelta(seconds=self.settings.order_ttl)
        async with self.session.begin_nested():
            for n, item in enumerate(r.items):
                if not item.seat_ids:
                    continue
                kind = sale.types[item.ticket_type_id]
                at = ["items", str(n), "seatIds"]
                if slot.hold is not None and slot.hold.ticket_type_id == kind.id:
                    await seats.reserve_held(
                        self.session,
                        hold_id=slot.hold.id,
                        seat_ids=item.seat_ids,
                        order_id=slot.order_id,
                        expires_at=expires_at,
                        field=at,
                    )
                else:
                    await seats.allocate(
                        self.session,
                        occurrence_id=occurrence_id,
                        ticket_type_id=kind.id,
                        seat_ids=item.seat_ids,
                        state=seats.SeatState.RESERVED,
                        now=self.now,
                        expires_at=expires_at,
                        order_id=slot.order_id,
                        field=at,
                    )

    def _build(
        self,
        slot: Slot,
        lines: list[tuple[ItemRequest, PriceLine]],
        subtotal: int,
        discount: int,
        code_id: uuid.UUID | None,
    ) -> None:
        sale, buyer = self.sale, slot.buyer
        assert sale is not None and buyer is not None
        currency = next(iter(sale.types.values())).currency
        totals = payments.totals_for(
            subtotal=subtotal,
            discount=discount,
            currency=currency,
            settings=self.settings,
            provider=slot.provider,
        )
        order = new_order(
            order_id=slot.order_id,
            sale=sale,
            occurrence_id=next(iter(sale.occurrence_ids)),
            buyer=buyer,
            currency=currency,
            totals=totals,
            promo_code_id=code_id,
            hold_id=slot.hold.id if slot.hold is not None else None,
            payment_provider=slot.provider.name.value
            if slot.provider is not None and totals.total > 0
            else None,
            expires_at=self.now + timedelta(seconds=self.settings.order_ttl),
            now=self.now,
        )
        items = order_items(
            order.id,
            sorted(lines, key=lambda pair: pair[0].ticket_type_id),
            sale.types,
            slot.hold.id if slot.hold is not None else None,
            slot.hold.ticket_type_id if slot.hold is not None else None,
        )
        payment, remote = None, None
        provider = slot.provider
        if provider is not None and totals.total > 0:
            payment = payments.new_payment(order, provider, payments.auto_key(provider, order))
            remote = None if provider.local else provider
        self._rows.append((order, items, payment))
        slot.outcome = Booked(order, payment, remote=remote, items=items)

    async def _record(self, slots: list[Slot], occurrence_id: uuid.UUID) -> None:
        """Write the placed orders: rows, local payment intents, key results, outbox
        events, and the confirmation of free orders."""
        session, sale = self.session, self.sale
        assert sale is not None
        if not self._rows:
            return
        placed = {order.id for order, _, _ in self._rows}
        for slot in slots:
            booked = slot.outcome
            if (
                isinstance(booked, Booked)
                and booked.payment is not None
                and slot.provider is not None
                and slot.provider.local
            ):
                payments.apply_intent(
                    booked.payment,
                    await payments.make_intent(slot.provider, booked.payment, booked.order),
                )
        await insert_orders(
            session,
            [o for o, _, _ in self._rows],
            [i for _, items, _ in self._rows for i in items],
            [p for _, _, p in self._rows if p is not None],
        )
        await idempotency.record_results(
            session,
            [
                (s.key_id, s.order_id)
                for s in slots
                if s.key_id is not None and s.order_id in placed
            ],
        )
        await emit_many(
            session,
            [
                ("order.created", order.organization_id, lifecycle.order_payload(order))
                for order, _, _ in self._rows
            ],
        )
        inventory_changed(session, sale.event_id, occurrence_id, marked=True)
        # The batch was one transaction for several buyers: each reads their order at once
        # (read-your-writes, docs/scale.md).
        note_callers(
            session,
            [
                s.request.actor
                for s in slots
                if isinstance(s.outcome, Booked) and not s.outcome.replayed
            ],
        )
        for order, _, _ in self._rows:
            after_commit(session, OrderChanged(order.id))
        for slot in slots:
            booked = slot.outcome
            if (
                isinstance(booked, Booked)
                and booked.order.id in placed
                and booked.order.total_minor == 0
            ):
                persisted = await session.get(Order, booked.order.id)
                assert persisted is not None
                await lifecycle.confirm(session, order=persisted, now=self.now)
                booked.order = persisted


def _key_claim(slot: Slot) -> idempotency.KeyClaim:
    r, buyer = slot.request, slot.buyer
    assert buyer is not None and r.idempotency_key is not None
    payload: dict[str, object] = {
        "event": r.event_id,
        "occurrence": r.occurrence_id,
        "items": sorted(
            (str(i.ticket_type_id), i.quantity, sorted(map(str, i.seat_ids))) for i in r.items
        ),
        "promo": (r.promo_code or "").strip().lower(),
        "hold": r.hold_token,
        "buyer": buyer.email,
    }
    if r.payment_provider is not None:
        payload["payment"] = r.payment_provider
    return idempotency.KeyClaim(
        scope(r, buyer.email), r.idempotency_key, idempotency.fingerprint(payload)
    )


def scope(request: OrderRequest, email: str) -> str:
    """Whose idempotency keys these are: the user's, the API key's, or the guest email's."""
    actor = request.actor
    if actor.user_id is not None:
        return f"user:{actor.user_id}"
    if actor.api_key_id is not None:
        return f"key:{actor.api_key_id}"
    return f"guest:{email}"


def _code(promo_code: str | None) -> str | None:
    if not promo_code:
        return None
    try:
        return normalize_code(promo_code)
    except InvalidPromoCode:
        return None


def _active_hold(hold: Hold | None, now: datetime) -> Hold:
    from server.ticketing.errors import HoldExpired, HoldNotFound

    if hold is None:
        raise HoldNotFound("No hold has this token.", field="holdToken")
    if hold.released_at is not None or hold.expires_at <= now:
        raise HoldExpired(field="holdToken")
    return hold
