"""Promotions on a real catalog, and redemptions made the way createOrder makes them: the
code's use first, then the order row, in one transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.clock import utcnow
from server.db import Database
from server.errors import DomainError
from server.events.models import Event, EventOccurrence
from server.ids import new_id
from server.orders.models import Order, OrderStatus
from server.promotions import redemptions, service
from server.promotions.discounts import PricedLine, Redemption
from server.promotions.models import PromoCode, PromoRedemption, Promotion, PromotionKind
from server.ticketing.models import TicketType
from tests.server.ticketing.conftest import Catalog, catalog

__all__ = ["Catalog", "Shop", "catalog", "redeem_one", "shop"]


async def redeem_one(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    event_id: uuid.UUID,
    code: str,
    buyer_key: str,
    lines: Sequence[PricedLine],
    currency: str,
    order_id: uuid.UUID,
    now: datetime,
) -> Redemption:
    """One code redeemed for one order, through the ledger the order path uses."""
    wanted = redemptions.normalize_code(code)
    ledger = await redemptions.PromoLedger.lock(
        session, organization_id=organization_id, codes=[wanted], buyer_keys=[buyer_key]
    )
    redemption = ledger.redeem(
        wanted,
        buyer_key=buyer_key,
        lines=lines,
        event_id=event_id,
        currency=currency,
        order_id=order_id,
        now=now,
    )
    await ledger.apply(session, organization_id=organization_id, now=now)
    return redemption


@dataclass
class Shop:
    catalog: Catalog
    event: Event
    occurrence: EventOccurrence
    ticket_type: TicketType

    @property
    def db(self) -> Database:
        return self.catalog.db

    async def promotion(
        self,
        *codes: str,
        kind: PromotionKind = PromotionKind.PERCENTAGE,
        event_id: uuid.UUID | None = None,
        **terms: object,
    ) -> Promotion:
        if kind is PromotionKind.PERCENTAGE:
            terms.setdefault("percent_off", 10)
        async with self.db.transaction() as session:
            return await service.create_promotion(
                session,
                actor=self.catalog.manager,
                organization_id=self.catalog.organization_id,
                event_id=event_id,
                name="Spring sale",
                kind=kind,
                codes=list(codes),
                now=utcnow(),
                **terms,  # type: ignore[arg-type]
            )

    def lines(self, quantity: int = 2, unit_price: int = 5000) -> list[PricedLine]:
        return [PricedLine(self.ticket_type.id, unit_price, quantity)]

    async def redeem(
        self,
        code: str,
        *,
        buyer: str = "email:buyer@example.com",
        lines: Sequence[PricedLine] | None = None,
        event: Event | None = None,
        occurrence: EventOccurrence | None = None,
        currency: str = "USD",
        now: datetime | None = None,
    ) -> tuple[uuid.UUID, Redemption]:
        """Redeem for a new order and insert that order, in one transaction."""
        event = event or self.event
        occurrence = occurrence or self.occurrence
        lines = list(lines) if lines is not None else self.lines()
        order_id = new_id()
        async with self.db.transaction() as session:
            redemption = await redeem_one(
                session,
                organization_id=event.organization_id,
                event_id=event.id,
                code=code,
                buyer_key=buyer,
                lines=lines,
                currency=currency,
                order_id=order_id,
                now=now or utcnow(),
            )
            subtotal = sum(line.unit_price * line.quantity for line in lines)
            session.add(
                Order(
                    id=order_id,
                    organization_id=event.organization_id,
                    event_id=event.id,
                    occurrence_id=occurrence.id,
                    buyer_email=buyer.removeprefix("email:"),
                    status=OrderStatus.PENDING,
                    currency=currency,
                    subtotal_minor=subtotal,
                    discount_minor=redemption.discount,
                    platform_fee_minor=0,
                    provider_fee_minor=0,
                    fees_minor=0,
                    total_minor=subtotal - redemption.discount,
                    promo_code_id=redemption.code_id,
                )
            )
        return order_id, redemption

    async def try_redeem(self, code: str, **kwargs: object) -> str:
        """ "ok", or the error's message (the error code is always INVALID_PROMO_CODE)."""
        try:
            await self.redeem(code, **kwargs)  # type: ignore[arg-type]
        except DomainError as error:
            assert error.code.value == "INVALID_PROMO_CODE", error
            assert error.field == ["promoCode"]
            return error.message
        return "ok"

    async def release(self, order_id: uuid.UUID) -> bool:
        async with self.db.transaction() as session:
            return await service.release_redemption(session, order_id=order_id, now=utcnow())

    async def used(self, code: str) -> int:
        async with self.db.read() as session:
            value = await session.scalar(
                select(PromoCode.used).where(func.lower(PromoCode.code) == code.lower())
            )
        assert value is not None
        return value

    async def redemptions(self, *, active: bool = True) -> int:
        query = select(func.count()).select_from(PromoRedemption)
        if active:
            query = query.where(PromoRedemption.released_at.is_(None))
        async with self.db.read() as session:
            return int(await session.scalar(query) or 0)


@pytest.fixture
async def shop(catalog: Catalog) -> Shop:
    event, occurrences = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=500, price="50.00")
    return Shop(catalog, event, occurrences[0], ticket_type)
