from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.common import Money
from schema.context import Info
from schema.errors import UserError
from server.clock import utcnow
from server.ticketing.availability import Availability as AvailabilityRow
from server.ticketing.availability import SaleStatus as SaleStatusModel
from server.ticketing.models import Hold as HoldModel
from server.ticketing.models import PriceTier as PriceTierModel
from server.ticketing.models import TicketType as TicketTypeModel
from server.ticketing.models import Visibility as VisibilityModel
from server.ticketing.pricing import current_tier
from server.ticketing.queries import SeatStatus

if TYPE_CHECKING:
    from schema.venues.types import Seat

Visibility = strawberry.enum(VisibilityModel, name="Visibility")
SaleStatus = strawberry.enum(SaleStatusModel, name="SaleStatus")


@strawberry.enum(name="SeatState")
class SeatState(Enum):
    AVAILABLE = "available"
    HELD = "held"
    RESERVED = "reserved"
    SOLD = "sold"


@strawberry.type
class PriceTier:
    id: strawberry.ID
    name: str
    price: Money
    starts_at: datetime | None
    ends_at: datetime | None
    max_quantity: int | None
    remaining: int | None = strawberry.field(
        description="Units left at this price (null: no limit)."
    )

    @classmethod
    def from_model(cls, tier: PriceTierModel) -> PriceTier:
        return cls(
            id=strawberry.ID(str(tier.id)),
            name=tier.name,
            price=Money.of(tier.price_minor, tier.currency),
            starts_at=tier.starts_at,
            ends_at=tier.ends_at,
            max_quantity=tier.max_quantity,
            remaining=None
            if tier.max_quantity is None
            else max(0, tier.max_quantity - tier.allocated),
        )


@strawberry.type
class Availability:
    ticket_type_id: strawberry.ID
    occurrence_id: strawberry.ID
    available: int
    sold: int
    reserved: int
    held: int
    status: SaleStatus  # type: ignore[valid-type]

    @classmethod
    def from_row(cls, row: AvailabilityRow) -> Availability:
        return cls(
            ticket_type_id=strawberry.ID(str(row.ticket_type_id)),
            occurrence_id=strawberry.ID(str(row.occurrence_id)),
            available=row.available,
            sold=row.sold,
            reserved=row.reserved,
            held=row.held,
            status=row.status,
        )


@strawberry.type
class TicketType:
    id: strawberry.ID
    name: str
    description: str | None
    price: Money
    quantity: int
    min_per_order: int
    max_per_order: int
    max_per_buyer: int | None
    sales_start: datetime | None
    sales_end: datetime | None
    visibility: Visibility  # type: ignore[valid-type]
    sections: list[str]
    waitlist_enabled: bool = strawberry.field(
        description="Sold out, buyers may join a waitlist; freed tickets are offered in order."
    )
    waitlist_offer_ttl: int = strawberry.field(
        description="Seconds a waitlist offer stands before it passes to the next entry."
    )
    model: strawberry.Private[TicketTypeModel]

    @classmethod
    def from_model(cls, model: TicketTypeModel) -> TicketType:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            description=model.description,
            price=Money.of(model.price_minor, model.currency),
            quantity=model.quantity,
            min_per_order=model.min_per_order,
            max_per_order=model.max_per_order,
            max_per_buyer=model.max_per_buyer,
            sales_start=model.sales_start,
            sales_end=model.sales_end,
            visibility=model.visibility,
            sections=list(model.sections),
            waitlist_enabled=model.waitlist_enabled,
            waitlist_offer_ttl=model.waitlist_offer_ttl,
            model=model,
        )

    @strawberry.field
    async def price_tiers(self, info: Info) -> list[PriceTier]:
        from schema.ticketing.loaders import PriceTiersByTicketTypeLoader

        tiers = await info.context.loader(PriceTiersByTicketTypeLoader).load(self.model.id)
        return [PriceTier.from_model(t) for t in tiers]

    @strawberry.field(description="The tier whose price applies now, if any.")
    async def current_tier(self, info: Info) -> PriceTier | None:
        from schema.ticketing.loaders import PriceTiersByTicketTypeLoader

        tiers = await info.context.loader(PriceTiersByTicketTypeLoader).load(self.model.id)
        tier = current_tier(tiers, utcnow())
        return PriceTier.from_model(tier) if tier else None

    @strawberry.field(
        description="The price a buyer pays now: the current tier's, else the base price."
    )
    async def current_price(self, info: Info) -> Money:
        tier = await self.current_tier(info)
        return tier.price if tier is not None else self.price

    @strawberry.field(
        description="What is left for a date (default: the next date that has not ended)."
    )
    async def availability(
        self, info: Info, occurrence_id: strawberry.ID | None = None
    ) -> Availability:
        from schema.common import require_id
        from schema.errors import ClientError
        from schema.ticketing.loaders import AvailabilityByTicketTypeLoader

        occurrence = (
            require_id(occurrence_id, "occurrenceId") if occurrence_id is not None else None
        )
        row = await info.context.loader(AvailabilityByTicketTypeLoader).load(
            (self.model.id, occurrence)
        )
        if row is None:
            raise ClientError("This ticket type has no such date.", code="NOT_FOUND")
        return Availability.from_row(row)


@strawberry.type
class Hold:
    id: strawberry.ID
    quantity: int
    used: int
    expires_at: datetime
    released_at: datetime | None
    token: str
    note: str | None
    occurrence_id: strawberry.ID
    model: strawberry.Private[HoldModel]

    @classmethod
    def from_model(cls, model: HoldModel, occurrence_id: uuid.UUID) -> Hold:
        return cls(
            id=strawberry.ID(str(model.id)),
            quantity=model.quantity,
            used=model.used,
            expires_at=model.expires_at,
            released_at=model.released_at,
            token=model.token,
            note=model.note,
            occurrence_id=strawberry.ID(str(occurrence_id)),
            model=model,
        )

    @strawberry.field
    async def ticket_type(self, info: Info) -> TicketType:
        from schema.ticketing.loaders import ticket_type_of

        return await ticket_type_of(info, self.model.ticket_type_id)


@strawberry.type
class SeatAvailability:
    seat: Annotated[Seat, strawberry.lazy("schema.venues.types")]
    state: SeatState

    @classmethod
    def from_row(cls, row: SeatStatus) -> SeatAvailability:
        from schema.venues.types import Seat

        seat = Seat(
            id=strawberry.ID(str(row.seat_id)), section=row.section, row=row.row, number=row.number
        )
        return cls(seat=seat, state=SeatState(row.state))


@strawberry.type
class TicketTypePayload:
    ticket_type: TicketType | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class HoldPayload:
    hold: Hold | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
