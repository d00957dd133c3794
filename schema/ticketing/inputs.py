from __future__ import annotations

from datetime import datetime

import strawberry

from schema.common import MoneyInput
from schema.ticketing.types import Visibility
from server.ticketing.models import Visibility as VisibilityModel
from server.ticketing.service import PriceInput


def price_input(money: MoneyInput) -> PriceInput:
    return PriceInput(amount=money.amount, currency=money.currency)


@strawberry.input
class CreateTicketTypeInput:
    event_id: strawberry.ID
    name: str
    price: MoneyInput
    quantity: int
    min_per_order: int | None = 1
    max_per_order: int | None = 10
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    visibility: Visibility | None = VisibilityModel.PUBLIC  # type: ignore[valid-type]
    sections: list[str] | None = None
    max_per_buyer: int | None = strawberry.field(
        default=None, description="Most tickets of this type one buyer may hold across orders."
    )
    description: str | None = None
    waitlist_enabled: bool | None = False
    waitlist_offer_ttl: int | None = strawberry.field(
        default=None, description="Seconds an offer stands (60 to 604800; default 3600)."
    )


@strawberry.input
class UpdateTicketTypeInput:
    id: strawberry.ID
    name: str | None = None
    price: MoneyInput | None = None
    quantity: int | None = None
    max_per_order: int | None = None
    sales_start: datetime | None = None
    sales_end: datetime | None = None
    visibility: Visibility | None = None  # type: ignore[valid-type]
    waitlist_enabled: bool | None = None
    waitlist_offer_ttl: int | None = None


@strawberry.input
class CreatePriceTierInput:
    ticket_type_id: strawberry.ID
    name: str
    price: MoneyInput
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    max_quantity: int | None = None


@strawberry.input
class CreateHoldInput:
    ticket_type_id: strawberry.ID
    quantity: int
    expires_at: datetime
    note: str | None = None
    occurrence_id: strawberry.ID | None = strawberry.field(
        default=None, description="Which date (required when the event has several)."
    )
    seat_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="The seats held, one per ticket (seated ticket types only)."
    )
