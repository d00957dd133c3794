from __future__ import annotations

import uuid

import pytest

from server.promotions.discounts import PricedLine, Terms, discount, percentage_off
from server.promotions.models import PromotionKind

GENERAL = uuid.UUID(int=1)
VIP = uuid.UUID(int=2)


def percent(pct: int) -> Terms:
    return Terms(PromotionKind.PERCENTAGE, percent_off=pct)


def fixed(amount: int) -> Terms:
    return Terms(PromotionKind.FIXED_AMOUNT, amount_off=amount)


def buy_get(buy: int, get: int) -> Terms:
    return Terms(PromotionKind.BUY_X_GET_Y, buy_quantity=buy, get_quantity=get)


def line(unit_price: int, quantity: int, ticket_type: uuid.UUID = GENERAL) -> PricedLine:
    return PricedLine(ticket_type, unit_price, quantity)


@pytest.mark.parametrize(
    ("amount", "pct", "expected"),
    [
        (333, 15, 50),  # 49.95 rounds up
        (1, 50, 1),  # exactly half rounds up
        (5, 10, 1),  # 0.5 rounds up
        (15, 10, 2),  # 1.5 rounds up
        (4, 10, 0),  # 0.4 rounds down
        (49, 1, 0),  # 0.49 rounds down
        (50, 1, 1),  # 0.50 rounds up
        (999, 100, 999),
        (0, 30, 0),
        (10**12 + 1, 33, 330_000_000_000),  # 330000000000.33, no float anywhere
    ],
)
def test_percentages_round_half_up(amount: int, pct: int, expected: int) -> None:
    assert percentage_off(amount, pct) == expected


def test_a_percentage_applies_once_to_the_whole_subtotal_not_per_line() -> None:
    lines = [line(105, 1), line(105, 1, VIP)]  # 10% per line would be 11 + 11

    assert discount(percent(10), lines) == 21  # 10% of 210


def test_a_fixed_amount_is_capped_at_the_subtotal() -> None:
    assert discount(fixed(1500), [line(1000, 2)]) == 1500
    assert discount(fixed(5000), [line(1000, 2)]) == 2000
    assert discount(fixed(5000), [line(0, 3)]) == 0


def test_buy_two_get_one_makes_every_third_ticket_of_a_type_free() -> None:
    assert discount(buy_get(2, 1), [line(1000, 2)]) == 0
    assert discount(buy_get(2, 1), [line(1000, 3)]) == 1000
    assert discount(buy_get(2, 1), [line(1000, 5)]) == 1000
    assert discount(buy_get(2, 1), [line(1000, 6)]) == 2000


def test_buy_x_get_y_counts_each_ticket_type_on_its_own() -> None:
    lines = [line(1000, 2), line(3000, 1, VIP)]  # three tickets, but of two types

    assert discount(buy_get(2, 1), lines) == 0
    assert discount(buy_get(2, 1), [*lines, line(3000, 2, VIP)]) == 3000


def test_buy_x_get_y_frees_the_cheapest_units_when_a_type_has_several_prices() -> None:
    # An early-bird tier split: 1 at 800, 5 at 1000 -> 6 tickets, 2 free: 800 + 1000.
    lines = [line(1000, 5), line(800, 1)]

    assert discount(buy_get(2, 1), lines) == 1800
    # Buy 1 get 2: 6 tickets, 4 free, the four cheapest: 800 + 3 x 1000.
    assert discount(buy_get(1, 2), lines) == 3800


def test_a_discount_never_exceeds_the_subtotal() -> None:
    lines = [line(700, 1), line(300, 2, VIP)]

    assert discount(percent(100), lines) == 1300
    assert discount(fixed(10**9), lines) == 1300
    assert discount(buy_get(1, 100), [line(500, 101)]) == 50_000  # 100 free, 1 paid


@pytest.mark.parametrize("bad", [line(100, 0), line(-1, 1)])
def test_lines_that_are_not_priced_lines_are_refused(bad: PricedLine) -> None:
    with pytest.raises(ValueError, match="not a priced line"):
        discount(percent(10), [bad])
