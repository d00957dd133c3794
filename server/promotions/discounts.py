"""How much a promotion takes off an order: pure integer arithmetic in minor units.

Rules (docs/promotions.md states them for buyers and organizers):

- every line of the order is eligible (a promotion covers all ticket types of its event,
  or of every event of its organization);
- PERCENTAGE: `percent_off` of the eligible subtotal, computed once on the subtotal (not
  per line) and rounded half up: `(subtotal * pct + 50) // 100`;
- FIXED_AMOUNT: `amount_off`, capped at the eligible subtotal;
- BUY_X_GET_Y: per ticket type, for every X + Y tickets the Y cheapest are free:
  `free = (quantity // (X + Y)) * Y`, taken from the lowest unit prices first when the
  type has several price lines (a tier split);
- the discount is never negative and never more than the subtotal.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from server.promotions.models import Promotion, PromotionKind


@dataclass(frozen=True)
class PricedLine:
    """One priced line of an order: `quantity` tickets of a type at `unit_price`."""

    ticket_type_id: uuid.UUID
    unit_price: int  # minor units
    quantity: int


@dataclass(frozen=True)
class Redemption:
    """A code's use taken for an order, and what it takes off."""

    promotion_id: uuid.UUID
    code_id: uuid.UUID
    discount: int  # minor units, 0 <= discount <= subtotal of the lines


@dataclass(frozen=True)
class Terms:
    kind: PromotionKind
    percent_off: int | None = None
    amount_off: int | None = None
    buy_quantity: int | None = None
    get_quantity: int | None = None

    @classmethod
    def of(cls, promotion: Promotion) -> Terms:
        return cls(
            kind=promotion.kind,
            percent_off=promotion.percent_off,
            amount_off=promotion.amount_off_minor,
            buy_quantity=promotion.buy_quantity,
            get_quantity=promotion.get_quantity,
        )


def subtotal(lines: Sequence[PricedLine]) -> int:
    return sum(line.unit_price * line.quantity for line in lines)


def percentage_off(amount: int, percent: int) -> int:
    """`percent`% of `amount`, rounded half up (15% of 333 is 49.95, so 50)."""
    return (amount * percent + 50) // 100


def free_units(quantity: int, buy: int, get: int) -> int:
    return (quantity // (buy + get)) * get


def buy_x_get_y_off(lines: Sequence[PricedLine], buy: int, get: int) -> int:
    by_type: dict[uuid.UUID, list[PricedLine]] = defaultdict(list)
    for line in lines:
        by_type[line.ticket_type_id].append(line)
    total = 0
    for type_lines in by_type.values():
        free = free_units(sum(line.quantity for line in type_lines), buy, get)
        for line in sorted(type_lines, key=lambda line: line.unit_price):
            taken = min(free, line.quantity)
            total += taken * line.unit_price
            free -= taken
            if free == 0:
                break
    return total


def discount(terms: Terms, lines: Sequence[PricedLine]) -> int:
    """What `terms` take off these lines: 0 <= discount <= subtotal."""
    for line in lines:
        if line.quantity < 1 or line.unit_price < 0:
            raise ValueError(f"not a priced line: {line}")
    eligible = subtotal(lines)
    if terms.kind is PromotionKind.PERCENTAGE:
        assert terms.percent_off is not None
        off = percentage_off(eligible, terms.percent_off)
    elif terms.kind is PromotionKind.FIXED_AMOUNT:
        assert terms.amount_off is not None
        off = terms.amount_off
    else:
        assert terms.buy_quantity is not None and terms.get_quantity is not None
        off = buy_x_get_y_off(lines, terms.buy_quantity, terms.get_quantity)
    return max(0, min(off, eligible))
