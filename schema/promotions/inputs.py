from __future__ import annotations

from datetime import datetime

import strawberry

from schema.common import MoneyInput
from schema.promotions.types import PromotionKind


@strawberry.input
class CreatePromotionInput:
    organization_id: strawberry.ID
    event_id: strawberry.ID | None = strawberry.field(
        default=None, description="Limit the promotion to one event (default: every event)."
    )
    name: str
    kind: PromotionKind  # type: ignore[valid-type]
    percent_off: int | None = strawberry.field(default=None, description="PERCENTAGE: 1 to 100.")
    amount_off: MoneyInput | None = strawberry.field(
        default=None, description="FIXED_AMOUNT: taken off the order, at most its subtotal."
    )
    buy_quantity: int | None = strawberry.field(
        default=None, description="BUY_X_GET_Y: X, tickets of one type paid for ..."
    )
    get_quantity: int | None = strawberry.field(
        default=None, description="BUY_X_GET_Y: ... for every Y free (the cheapest)."
    )
    codes: list[str] = strawberry.field(
        description="3 to 32 letters, digits, '-' or '_'; unique in the organization, "
        "whatever their case."
    )
    max_uses: int | None = strawberry.field(default=None, description="Uses per code in all.")
    max_uses_per_user: int | None = strawberry.field(
        default=None, description="Uses per code by one buyer (account or email)."
    )
    expires_at: datetime | None = None
