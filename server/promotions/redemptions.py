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
from collections.abc import Sequence
from dataclasses import dataclass, field
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


def check_code(
    *,
    expires_at: datetime | None,
    promotion: Promotion,
    event_id: uuid.UUID,
    currency: str,
    lines: Sequence[PricedLine],
    now: datetime,
) -> int:
    """What a found code takes off these lines, or the reason it cannot be used here
    (expired, for another event, in another currency, worth nothing on these lines)."""
    if expires_at is not None and expires_at <= now:
        raise PromoCodeExpired()
    if promotion.event_id is not None and promotion.event_id != event_id:
        raise PromoCodeForAnotherEvent()
    if promotion.currency is not None and promotion.currency != currency:
        raise PromoCodeCurrencyMismatch(promotion.currency, currency)
    off = discounts.discount(Terms.of(promotion), lines)
    if off == 0:
        raise PromoCodeGivesNothing(_why_nothing(promotion))
    return off


def normalize_code(code: str) -> str:
    """The code as it is compared (case is ignored), or UnknownPromoCode if no code can
    look like it."""
    wanted = code.strip().lower()
    if not CODE_PATTERN.fullmatch(wanted):
        raise UnknownPromoCode()
    return wanted


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


# --- several orders in one transaction -------------------------------------------------


@dataclass(slots=True)
class _Code:
    id: uuid.UUID
    expires_at: datetime | None
    promotion: Promotion
    max_uses: int | None
    used: int
    max_uses_per_user: int | None
    taken: int = 0  # by this transaction


@dataclass(frozen=True, slots=True)
class _Use:
    code: str
    code_id: uuid.UUID
    promotion_id: uuid.UUID
    order_id: uuid.UUID
    buyer_key: str
    discount: int
    currency: str


@dataclass
class PromoLedger:
    """The promo codes a batch of orders names, locked by id (after inventory, capacity
    and tiers in the lock order): each order spends a use of what the orders before it
    left, under the same rules as one order alone, and `apply` writes the uses taken and
    the redemptions in one statement each. The per-buyer limit is counted under the same
    locks, so orders of one buyer see each other's redemptions."""

    codes: dict[str, _Code]
    uses: dict[tuple[uuid.UUID, str], int]
    redeemed: list[_Use] = field(default_factory=list)

    @classmethod
    async def lock(
        cls,
        session: AsyncSession,
        *,
        organization_id: uuid.UUID,
        codes: Sequence[str],
        buyer_keys: Sequence[str],
    ) -> PromoLedger:
        """`codes` as `normalize_code` gives them; `buyer_keys` as `Buyer.key`."""
        rows = (
            await session.execute(
                select(
                    PromoCode.id,
                    func.lower(PromoCode.code),
                    PromoCode.expires_at,
                    PromoCode.max_uses,
                    PromoCode.used,
                    PromoCode.max_uses_per_user,
                    Promotion,
                )
                .join(Promotion, Promotion.id == PromoCode.promotion_id)
                .where(
                    PromoCode.organization_id == organization_id,
                    func.lower(PromoCode.code).in_(sorted(set(codes))),
                )
                .order_by(PromoCode.id)
                .with_for_update(of=PromoCode)
            )
        ).all()
        found = {
            code: _Code(code_id, expires_at, promotion, max_uses, used, per_user)
            for code_id, code, expires_at, max_uses, used, per_user, promotion in rows
        }
        limited = [c.id for c in found.values() if c.max_uses_per_user is not None]
        uses: dict[tuple[uuid.UUID, str], int] = {}
        if limited and buyer_keys:
            counted = await session.execute(
                select(PromoRedemption.promo_code_id, PromoRedemption.buyer_key, func.count())
                .where(
                    PromoRedemption.promo_code_id.in_(limited),
                    PromoRedemption.buyer_key.in_(sorted(set(buyer_keys))),
                    PromoRedemption.released_at.is_(None),
                )
                .group_by(PromoRedemption.promo_code_id, PromoRedemption.buyer_key)
            )
            uses = {(code_id, key): int(n) for code_id, key, n in counted}
        return cls(found, uses)

    def redeem(
        self,
        code: str,
        *,
        buyer_key: str,
        lines: Sequence[PricedLine],
        event_id: uuid.UUID,
        currency: str,
        order_id: uuid.UUID,
        now: datetime,
    ) -> Redemption:
        """Take one use of `code` for the order `order_id` (inserted in this transaction),
        or raise InvalidPromoCode with nothing taken: the code is unknown, expired, for
        another event, in another currency, worth nothing on these lines, out of uses, or
        used up by this buyer."""
        if not buyer_key.startswith(("user:", "email:")) or len(buyer_key) > 300:
            raise ValueError(f"not a buyer key: {buyer_key!r}")
        found = self.codes.get(code)
        if found is None:
            raise UnknownPromoCode()
        off = check_code(
            expires_at=found.expires_at,
            promotion=found.promotion,
            event_id=event_id,
            currency=currency,
            lines=lines,
            now=now,
        )
        if found.max_uses is not None and found.used >= found.max_uses:
            raise PromoCodeExhausted()
        per_user = found.max_uses_per_user
        if per_user is not None and self.uses.get((found.id, buyer_key), 0) >= per_user:
            raise PromoCodeUserLimit(per_user)
        found.used += 1
        found.taken += 1
        self.uses[(found.id, buyer_key)] = self.uses.get((found.id, buyer_key), 0) + 1
        self.redeemed.append(
            _Use(code, found.id, found.promotion.id, order_id, buyer_key, off, currency)
        )
        return Redemption(promotion_id=found.promotion.id, code_id=found.id, discount=off)

    def put_back(self, order_id: uuid.UUID) -> None:
        """Undo the redemption of an order that failed a later step."""
        for use in [u for u in self.redeemed if u.order_id == order_id]:
            self.redeemed.remove(use)
            found = self.codes[use.code]
            found.used -= 1
            found.taken -= 1
            self.uses[(use.code_id, use.buyer_key)] -= 1

    async def apply(
        self, session: AsyncSession, *, organization_id: uuid.UUID, now: datetime
    ) -> None:
        for found in sorted(self.codes.values(), key=lambda c: c.id):
            if found.taken:
                await session.execute(
                    update(PromoCode)
                    .where(PromoCode.id == found.id)
                    .values(used=PromoCode.used + found.taken)
                    .execution_options(synchronize_session=False)
                )
        if self.redeemed:
            await session.execute(
                insert(PromoRedemption),
                [
                    {
                        "id": new_id(),
                        "promo_code_id": use.code_id,
                        "promotion_id": use.promotion_id,
                        "organization_id": organization_id,
                        "order_id": use.order_id,
                        "buyer_key": use.buyer_key,
                        "discount_minor": use.discount,
                        "currency": use.currency,
                        "created_at": now,
                    }
                    for use in self.redeemed
                ],
            )
