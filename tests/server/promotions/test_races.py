"""Limits that hold under concurrent orders: each redemption runs in its own transaction
on its own connection, all started together."""

from __future__ import annotations

import asyncio
import uuid

from tests.server.promotions.conftest import Shop


async def test_a_code_with_five_uses_raced_by_forty_orders_sells_exactly_five(shop: Shop) -> None:
    await shop.promotion("FLASH5", max_uses=5, percent_off=20)

    outcomes = await asyncio.gather(
        *[shop.try_redeem("flash5", buyer=f"email:buyer{n}@example.com") for n in range(40)]
    )

    assert outcomes.count("ok") == 5
    assert set(outcomes) == {"ok", "This promo code has no uses left."}
    assert await shop.used("FLASH5") == 5
    assert await shop.redemptions() == 5


async def test_one_buyer_racing_ten_orders_gets_only_their_per_buyer_limit(shop: Shop) -> None:
    await shop.promotion("TWOEACH", max_uses_per_user=2)
    buyer = f"user:{uuid.uuid4()}"

    outcomes = await asyncio.gather(*[shop.try_redeem("TWOEACH", buyer=buyer) for _ in range(10)])

    assert outcomes.count("ok") == 2
    assert set(outcomes) == {
        "ok",
        "You have already used this promo code 2 times, its limit per buyer.",
    }
    assert await shop.used("TWOEACH") == 2
    assert await shop.redemptions() == 2


async def test_total_and_per_buyer_limits_hold_together_under_a_crowd(shop: Shop) -> None:
    await shop.promotion("CROWD", max_uses=7, max_uses_per_user=1)
    buyers = [f"email:fan{n % 4}@example.com" for n in range(30)]  # 4 buyers, 30 orders

    outcomes = await asyncio.gather(*[shop.try_redeem("CROWD", buyer=b) for b in buyers])

    assert outcomes.count("ok") == 4  # one each; the total of 7 is never reached
    assert await shop.used("CROWD") == 4


async def test_concurrent_releases_of_one_order_give_the_use_back_once(shop: Shop) -> None:
    await shop.promotion("GIVEBACK", max_uses=3)
    order_id, _ = await shop.redeem("GIVEBACK")
    await shop.redeem("GIVEBACK", buyer="email:other@example.com")

    released = await asyncio.gather(*[shop.release(order_id) for _ in range(12)])

    assert released.count(True) == 1
    assert await shop.used("GIVEBACK") == 1
    assert await shop.redemptions() == 1


async def test_releases_racing_redemptions_keep_the_counter_equal_to_active_uses(
    shop: Shop,
) -> None:
    await shop.promotion("CHURN", max_uses=5)
    orders = [(await shop.redeem("CHURN", buyer=f"email:{n}@x.example"))[0] for n in range(5)]

    results = await asyncio.gather(
        *[shop.release(order_id) for order_id in orders[:3]],
        *[shop.try_redeem("CHURN", buyer=f"email:late{n}@x.example") for n in range(10)],
    )

    redeemed_late = results[3:].count("ok")
    assert results[:3] == [True, True, True]
    assert 0 <= redeemed_late <= 3  # only what the releases gave back, in whatever order
    assert await shop.used("CHURN") == 2 + redeemed_late
    assert await shop.redemptions() == 2 + redeemed_late
