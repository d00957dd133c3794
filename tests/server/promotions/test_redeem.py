"""What redeeming a promo code accepts and refuses. A refused code spends nothing."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from server.clock import utcnow
from server.ids import new_id
from server.organizations.models import Membership
from server.promotions import service
from server.promotions.discounts import PricedLine
from server.promotions.models import PromoRedemption, PromotionKind
from tests.server.promotions.conftest import Shop, redeem_one


async def test_a_redemption_records_the_discount_and_takes_one_use(shop: Shop) -> None:
    promotion = await shop.promotion("SPRING", percent_off=15, max_uses=3)

    order_id, redemption = await shop.redeem("SPRING", lines=shop.lines(quantity=1, unit_price=333))

    assert redemption.discount == 50
    assert redemption.promotion_id == promotion.id
    assert await shop.used("SPRING") == 1
    async with shop.db.read() as session:
        row = (await session.scalars(select(PromoRedemption))).one()
    assert (row.order_id, row.discount_minor, row.currency) == (order_id, 50, "USD")
    assert row.buyer_key == "email:buyer@example.com"
    assert row.released_at is None


async def test_codes_are_found_whatever_their_case_and_surrounding_spaces(shop: Shop) -> None:
    await shop.promotion("Summer-25_vip")

    outcomes = [await shop.try_redeem(code) for code in ("summer-25_VIP", "  SUMMER-25_VIP ")]

    assert outcomes == ["ok", "ok"]
    assert await shop.used("summer-25_vip") == 2


async def test_an_unknown_code_is_refused(shop: Shop) -> None:
    await shop.promotion("SPRING")

    outcomes = [await shop.try_redeem(code) for code in ("SPRINGS", "", "x" * 200, "SPR ING")]

    assert set(outcomes) == {"This promo code does not exist."}
    assert await shop.used("SPRING") == 0


async def test_a_code_of_another_organization_is_unknown_here(shop: Shop) -> None:
    outsider = shop.catalog.outsider
    async with shop.db.read() as session:
        other_org = await session.scalar(
            select(Membership.organization_id).where(Membership.user_id == outsider.user_id)
        )
    assert other_org is not None
    async with shop.db.transaction() as session:
        await service.create_promotion(
            session,
            actor=outsider,
            organization_id=other_org,
            event_id=None,
            name="Theirs",
            kind=PromotionKind.PERCENTAGE,
            percent_off=50,
            codes=["THEIRS"],
            now=utcnow(),
        )

    outcome = await shop.try_redeem("THEIRS")

    assert outcome == "This promo code does not exist."
    assert await shop.used("THEIRS") == 0


async def test_an_expired_code_is_refused_and_a_code_before_its_expiry_is_not(shop: Shop) -> None:
    expires_at = utcnow() + timedelta(hours=1)
    await shop.promotion("LASTCALL", expires_at=expires_at)

    before = await shop.try_redeem("LASTCALL", now=expires_at - timedelta(seconds=1))
    at = await shop.try_redeem("LASTCALL", now=expires_at)
    after = await shop.try_redeem("LASTCALL", now=expires_at + timedelta(days=1))

    assert before == "ok"
    assert at == after == "This promo code has expired."
    assert await shop.used("LASTCALL") == 1


async def test_an_event_promotion_applies_to_its_event_only(shop: Shop) -> None:
    other_event, other_dates = await shop.catalog.event()
    await shop.promotion("ONLYHERE", event_id=shop.event.id)

    here = await shop.try_redeem("ONLYHERE")
    elsewhere = await shop.try_redeem("ONLYHERE", event=other_event, occurrence=other_dates[0])

    assert here == "ok"
    assert elsewhere == "This promo code is not valid for this event."
    assert await shop.used("ONLYHERE") == 1


async def test_an_organization_wide_promotion_applies_to_every_event(shop: Shop) -> None:
    other_event, other_dates = await shop.catalog.event()
    await shop.promotion("EVERYWHERE")

    here = await shop.try_redeem("EVERYWHERE")
    elsewhere = await shop.try_redeem("EVERYWHERE", event=other_event, occurrence=other_dates[0])

    assert here == elsewhere == "ok"
    assert await shop.used("EVERYWHERE") == 2


async def test_a_fixed_amount_in_another_currency_is_refused(shop: Shop) -> None:
    await shop.promotion(
        "TENOFF",
        kind=PromotionKind.FIXED_AMOUNT,
        amount_off=service.AmountOff(Decimal("10.00"), "EUR"),
    )

    outcome = await shop.try_redeem("TENOFF", currency="USD")

    assert outcome == "This promo code takes an amount off in EUR; this order is in USD."
    assert await shop.used("TENOFF") == 0


async def test_a_fixed_amount_is_capped_at_the_order_subtotal(shop: Shop) -> None:
    await shop.promotion(
        "BIGOFF",
        kind=PromotionKind.FIXED_AMOUNT,
        amount_off=service.AmountOff(Decimal("500"), "USD"),
    )

    _, redemption = await shop.redeem("BIGOFF", lines=shop.lines(quantity=2, unit_price=4999))

    assert redemption.discount == 9998


async def test_a_code_that_gives_nothing_on_these_tickets_is_refused(shop: Shop) -> None:
    await shop.promotion(
        "THREEFORTWO", kind=PromotionKind.BUY_X_GET_Y, buy_quantity=2, get_quantity=1
    )
    await shop.promotion("HALF", percent_off=50)

    too_few = await shop.try_redeem("THREEFORTWO", lines=shop.lines(quantity=2))
    free_tickets = await shop.try_redeem("HALF", lines=shop.lines(quantity=4, unit_price=0))
    enough = await shop.try_redeem("THREEFORTWO", lines=shop.lines(quantity=3))

    assert too_few == (
        "This promo code gives no discount on these tickets "
        "(buy 2, get 1 free: order at least 3 of a type)."
    )
    assert free_tickets == "This promo code gives no discount on these tickets."
    assert enough == "ok"
    assert (await shop.used("THREEFORTWO"), await shop.used("HALF")) == (1, 0)


async def test_buy_x_get_y_frees_the_cheapest_tickets_of_a_tier_split(shop: Shop) -> None:
    await shop.promotion("BOGO", kind=PromotionKind.BUY_X_GET_Y, buy_quantity=1, get_quantity=1)
    lines = [
        PricedLine(shop.ticket_type.id, 4000, 1),  # the early-bird tier's last unit
        PricedLine(shop.ticket_type.id, 5000, 3),
    ]

    _, redemption = await shop.redeem("BOGO", lines=lines)

    assert redemption.discount == 9000  # 4 tickets, 2 free: 4000 + 5000


async def test_an_exhausted_code_says_no_uses_left(shop: Shop) -> None:
    await shop.promotion("ONCE", max_uses=1)

    outcomes = [await shop.try_redeem("ONCE", buyer=f"email:{n}@example.com") for n in range(2)]

    assert outcomes == ["ok", "This promo code has no uses left."]
    assert await shop.used("ONCE") == 1


async def test_the_per_buyer_limit_counts_accounts_and_emails_apart(shop: Shop) -> None:
    await shop.promotion("TWICE", max_uses_per_user=2)
    user = f"user:{uuid.uuid4()}"

    outcomes = [await shop.try_redeem("TWICE", buyer=user) for _ in range(3)]
    guest = await shop.try_redeem("TWICE", buyer="email:guest@example.com")

    assert outcomes == [
        "ok",
        "ok",
        "You have already used this promo code 2 times, its limit per buyer.",
    ]
    assert guest == "ok"
    assert await shop.used("TWICE") == 3


async def test_a_released_use_can_be_spent_again(shop: Shop) -> None:
    await shop.promotion("ONCEEACH", max_uses=1, max_uses_per_user=1)
    order_id, _ = await shop.redeem("ONCEEACH")
    refused = await shop.try_redeem("ONCEEACH")

    released = await shop.release(order_id)
    again = await shop.try_redeem("ONCEEACH")

    assert refused == "This promo code has no uses left."
    assert released is True
    assert again == "ok"
    assert await shop.used("ONCEEACH") == 1
    assert await shop.redemptions(active=False) == 2


async def test_releasing_an_order_without_a_code_releases_nothing(shop: Shop) -> None:
    await shop.promotion("KEEP")
    await shop.redeem("KEEP")

    assert await shop.release(new_id()) is False
    assert await shop.used("KEEP") == 1


async def test_a_redemption_needs_its_order_by_the_commit(shop: Shop) -> None:
    """The order foreign key is deferred: the order may come after the redemption, but a
    transaction that never inserts it cannot commit, and leaves nothing behind."""
    await shop.promotion("DEFERRED")

    with pytest.raises(IntegrityError, match="fk_promo_redemptions_order_id_orders"):
        async with shop.db.transaction() as session:
            await redeem_one(
                session,
                organization_id=shop.event.organization_id,
                event_id=shop.event.id,
                code="DEFERRED",
                buyer_key="email:buyer@example.com",
                lines=shop.lines(),
                currency="USD",
                order_id=new_id(),
                now=utcnow(),
            )

    assert await shop.used("DEFERRED") == 0
    assert await shop.redemptions(active=False) == 0


async def test_a_malformed_buyer_key_is_a_programming_error(shop: Shop) -> None:
    await shop.promotion("KEYED")

    with pytest.raises(ValueError, match="not a buyer key"):
        await shop.redeem("KEYED", buyer="buyer@example.com")

    assert await shop.used("KEYED") == 0


async def _reclaim(shop: Shop, order_id: uuid.UUID) -> bool:
    async with shop.db.transaction() as session:
        return await service.reclaim_redemption(session, order_id=order_id, now=utcnow())


async def test_a_late_payment_takes_the_released_use_back(shop: Shop) -> None:
    await shop.promotion("COMEBACK", max_uses=2)
    order_id, _ = await shop.redeem("COMEBACK")
    await shop.release(order_id)

    reclaimed = await _reclaim(shop, order_id)
    reclaimed_again = await _reclaim(shop, order_id)

    assert (reclaimed, reclaimed_again) == (True, True)
    assert await shop.used("COMEBACK") == 1
    assert await shop.redemptions() == 1


async def test_a_late_payment_cannot_take_a_use_someone_else_has_taken(shop: Shop) -> None:
    await shop.promotion("GONE", max_uses=1)
    order_id, _ = await shop.redeem("GONE")
    await shop.release(order_id)
    await shop.redeem("GONE", buyer="email:quicker@example.com")

    reclaimed = await _reclaim(shop, order_id)

    assert reclaimed is False
    assert await shop.used("GONE") == 1
    assert await shop.redemptions() == 1  # the quicker buyer's only


async def test_a_late_payment_respects_the_per_buyer_limit(shop: Shop) -> None:
    await shop.promotion("MINEONCE", max_uses_per_user=1)
    first, _ = await shop.redeem("MINEONCE")
    await shop.release(first)
    await shop.redeem("MINEONCE")  # the same buyer, a new order

    reclaimed = await _reclaim(shop, first)

    assert reclaimed is False
    assert await shop.used("MINEONCE") == 1


async def test_reclaiming_an_order_without_a_released_use_changes_nothing(shop: Shop) -> None:
    await shop.promotion("STEADY", max_uses=5)
    order_id, _ = await shop.redeem("STEADY")

    assert await _reclaim(shop, order_id) is True
    assert await _reclaim(shop, new_id()) is True
    assert await shop.used("STEADY") == 1
