"""Spending and giving back a promo code's uses; createOrder and order cancellation and
expiry call these inside the order's transaction.

A use is taken by one conditional statement, which also locks the code row:

    UPDATE promo_codes SET used = used + 1
    WHERE id = :id AND (max_uses IS NULL OR used < max_uses) RETURNING ...

No row back means no use is left, whatever the interleaving of buyers. The per-buyer
limit is then counted under that row lock, so concurrent orders of one buyer see each
other's redemptions. The code row comes after inventory, capacity, tiers and seats in the
global lock order (docs/inventory.md), and before the order row.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.ids import new_id
from server.promotions import discounts
from server.promotions.discounts import PricedLine, Redemption, Terms
from server.promotions.errors import (
    PromoCodeCurrencyMismatch,
    PromoCodeExhausted,
    PromoCodeExpired,
    PromoCodeForAnotherEvent,
    PromoCodeGivesNothing,
    PromoCodeUserLimit,
    UnknownPromoCode,
)
from server.promotions.models import (
    CODE_PATTERN,
    PromoCode,
    PromoRedemption,
    Promotion,
    PromotionKind,
)


async def redeem_code(
    session: AsyncSession,
    *,
    organization_id: uuid.UUID,
    event_id: uuid.UUID,
    code: str,
    buyer_key: str,
    lines: list[PricedLine],
    currency: str,
    order_id: uuid.UUID,
    now: datetime,
) -> Redemption:
    """Take one use of `code` for the order `order_id`, which the caller inserts right
    after, in this transaction (the redemption's order foreign key is deferred to the
    commit). Raises InvalidPromoCode (field `promoCode`) when the code is unknown, expired,
    for another event, in another currency, worth nothing on these lines, out of uses, or
    used up by this buyer; a use is spent only when none of these hold.

    `buyer_key` is `user:<uuid>` or `email:<lowercased email>`."""
    if not buyer_key.startswith(("user:", "email:")) or len(buyer_key) > 300:
        raise ValueError(f"not a buyer key: {buyer_key!r}")
    wanted = code.strip().lower()
    if not CODE_PATTERN.fullmatch(wanted):
        raise UnknownPromoCode()
    found = (
        await session.execute(
            select(PromoCode.id, PromoCode.expires_at, Promotion)
            .join(Promotion, Promotion.id == PromoCode.promotion_id)
            .where(
                PromoCode.organization_id == organization_id,
                func.lower(PromoCode.code) == wanted,
            )
        )
    ).one_or_none()
    if found is None:
        raise UnknownPromoCode()
    code_id, expires_at, promotion = found
    if expires_at is not None and expires_at <= now:
        raise PromoCodeExpired()
    if promotion.event_id is not None and promotion.event_id != event_id:
        raise PromoCodeForAnotherEvent()
    if promotion.currency is not None and promotion.currency != currency:
        raise PromoCodeCurrencyMismatch(promotion.currency, currency)
    off = discounts.discount(Terms.of(promotion), lines)
    if off == 0:
        raise PromoCodeGivesNothing(_why_nothing(promotion))

    outcome = await _take_use(session, code_id, buyer_key)
    if outcome == _NO_USE_LEFT:
        raise PromoCodeExhausted()
    if outcome is not None:
        raise PromoCodeUserLimit(outcome)
    await session.execute(
        insert(PromoRedemption).values(
            id=new_id(),
            promo_code_id=code_id,
            promotion_id=promotion.id,
            organization_id=organization_id,
            order_id=order_id,
            buyer_key=buyer_key,
            discount_minor=off,
            currency=currency,
            created_at=now,
        )
    )
    return Redemption(promotion_id=promotion.id, code_id=code_id, discount=off)


def _why_nothing(promotion: Promotion) -> str:
    if promotion.kind is PromotionKind.BUY_X_GET_Y:
        buy, get = promotion.buy_quantity, promotion.get_quantity
        return f" (buy {buy}, get {get} free: order at least {(buy or 0) + (get or 0)} of a type)"
    return ""


_NO_USE_LEFT = -1


async def _take_use(session: AsyncSession, code_id: uuid.UUID, buyer_key: str) -> int | None:
    """Take one use of the code, locking its row; None when taken. Otherwise nothing is
    taken and the answer is `_NO_USE_LEFT`, or the buyer's limit that is reached."""
    taken = (
        await session.execute(
            update(PromoCode)
            .where(
                PromoCode.id == code_id,
                or_(PromoCode.max_uses.is_(None), PromoCode.used < PromoCode.max_uses),
            )
            .values(used=PromoCode.used + 1)
            .returning(PromoCode.max_uses_per_user)
            .execution_options(synchronize_session=False)
        )
    ).one_or_none()
    if taken is None:
        return _NO_USE_LEFT
    per_user = taken.max_uses_per_user
    if per_user is not None and await _active_uses(session, code_id, buyer_key) >= per_user:
        await _give_use_back(session, code_id)
        return int(per_user)
    return None


async def _give_use_back(session: AsyncSession, code_id: uuid.UUID) -> None:
    await session.execute(
        update(PromoCode)
        .where(PromoCode.id == code_id)
        .values(used=PromoCode.used - 1)
        .execution_options(synchronize_session=False)
    )


async def _active_uses(session: AsyncSession, code_id: uuid.UUID, buyer_key: str) -> int:
    count = await session.scalar(
        select(func.count())
        .select_from(PromoRedemption)
        .where(
            PromoRedemption.promo_code_id == code_id,
            PromoRedemption.buyer_key == buyer_key,
            PromoRedemption.released_at.is_(None),
        )
    )
    return int(count or 0)


async def release_redemption(session: AsyncSession, *, order_id: uuid.UUID, now: datetime) -> bool:
    """Give back the use an order took, when the order is cancelled or expires. Exactly
    once: the conditional `released_at` update decides between concurrent releasers, and
    the counter moves only for the one that got the row. False when there was nothing to
    release (no code on the order, or already released)."""
    code_id = await session.scalar(
        update(PromoRedemption)
        .where(PromoRedemption.order_id == order_id, PromoRedemption.released_at.is_(None))
        .values(released_at=now)
        .returning(PromoRedemption.promo_code_id)
        .execution_options(synchronize_session=False)
    )
    if code_id is None:
        return False
    await _give_use_back(session, code_id)
    return True


async def reclaim_redemption(session: AsyncSession, *, order_id: uuid.UUID, now: datetime) -> bool:
    """A payment that arrives after its order expired revives the order (at the prices and
    discount the buyer paid): take the released use back. True when the order holds its
    use again, or never had a released one; False, with nothing changed, when the code has
    no use left or the buyer's limit is reached, which the caller treats like stock that is
    gone. The caller holds the order row lock, so one order is never reclaimed twice at
    once; the code's expiry does not matter here, since the buyer redeemed it in time."""
    released = (
        await session.execute(
            select(PromoRedemption.id, PromoRedemption.promo_code_id, PromoRedemption.buyer_key)
            .where(PromoRedemption.order_id == order_id)
            .where(PromoRedemption.released_at.is_not(None))
        )
    ).one_or_none()
    if released is None:
        return True
    if await _take_use(session, released.promo_code_id, released.buyer_key) is not None:
        return False
    await session.execute(
        update(PromoRedemption)
        .where(PromoRedemption.id == released.id)
        .values(released_at=None)
        .execution_options(synchronize_session=False)
    )
    return True
