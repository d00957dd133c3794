from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.common import Money
from schema.context import Info
from schema.errors import UserError
from schema.orders import loaders
from server.orders.models import DisputeStatus as DisputeStatusModel
from server.orders.models import Order as OrderModel
from server.orders.models import OrderItem as OrderItemModel
from server.orders.models import OrderStatus as OrderStatusModel
from server.orders.models import Payment as PaymentModel
from server.orders.reading import visible_buyer_email
from server.payments.base import ProviderName

if TYPE_CHECKING:
    from schema.events.types import Event, EventOccurrence
    from schema.ticketing.types import PriceTier, TicketType
    from schema.tickets.types import Ticket
    from schema.venues.types import Seat

OrderStatus = strawberry.enum(OrderStatusModel, name="OrderStatus")
DisputeStatus = strawberry.enum(DisputeStatusModel, name="DisputeStatus")
PaymentProvider = strawberry.enum(ProviderName, name="PaymentProvider")


@strawberry.type
class OrderItem:
    quantity: int
    unit_price: Money
    subtotal: Money
    model: strawberry.Private[OrderItemModel]

    @classmethod
    def from_model(cls, model: OrderItemModel, currency: str) -> OrderItem:
        return cls(
            quantity=model.quantity,
            unit_price=Money.of(model.unit_price_minor, currency),
            subtotal=Money.of(model.subtotal_minor, currency),
            model=model,
        )

    @strawberry.field
    async def ticket_type(
        self, info: Info
    ) -> Annotated[TicketType, strawberry.lazy("schema.ticketing.types")]:
        from schema.ticketing.loaders import ticket_type_of

        return await ticket_type_of(info, self.model.ticket_type_id)

    @strawberry.field(description="The price tier this line was sold at (null: the base price).")
    async def price_tier(
        self, info: Info
    ) -> Annotated[PriceTier, strawberry.lazy("schema.ticketing.types")] | None:
        from schema.ticketing.types import PriceTier

        if self.model.price_tier_id is None:
            return None
        found = await info.context.loader(loaders.PriceTierByIdLoader).load(
            self.model.price_tier_id
        )
        return PriceTier.from_model(found) if found else None

    @strawberry.field(description="The seats of this line (seated ticket types).")
    async def seats(
        self, info: Info
    ) -> list[Annotated[Seat, strawberry.lazy("schema.venues.types")]]:
        from schema.venues.types import Seat

        found = await info.context.loader(loaders.EventSeatByIdLoader).load_many(
            list(self.model.seat_ids)
        )
        return [Seat.from_model(s) for s in found if s is not None]


@strawberry.type
class Payment:
    id: strawberry.ID
    provider: PaymentProvider  # type: ignore[valid-type]
    status: str
    amount: Money
    client_secret: str | None
    authorization_url: str | None
    reference: str = strawberry.field(description="Our reference for this payment at the provider.")
    failure_reason: str | None

    @classmethod
    def from_model(cls, model: PaymentModel) -> Payment:
        return cls(
            id=strawberry.ID(str(model.id)),
            provider=ProviderName(model.provider),
            status=model.status.value.upper(),
            amount=Money.of(model.amount_minor, model.currency),
            client_secret=model.client_secret,
            authorization_url=model.authorization_url,
            reference=model.reference,
            failure_reason=model.failure_reason,
        )


@strawberry.type
class Order:
    id: strawberry.ID
    status: OrderStatus  # type: ignore[valid-type]
    subtotal: Money
    discount: Money
    fees: Money
    platform_fee: Money = strawberry.field(description="The platform's part of `fees`.")
    provider_fee: Money = strawberry.field(description="The payment provider's part of `fees`.")
    total: Money
    refunded: Money
    expires_at: datetime | None
    created_at: datetime
    confirmed_at: datetime | None
    dispute_status: DisputeStatus  # type: ignore[valid-type]
    model: strawberry.Private[OrderModel]

    @classmethod
    def from_model(cls, model: OrderModel) -> Order:
        money = lambda minor: Money.of(minor, model.currency)  # noqa: E731
        return cls(
            id=strawberry.ID(str(model.id)),
            status=model.status,
            subtotal=money(model.subtotal_minor),
            discount=money(model.discount_minor),
            fees=money(model.fees_minor),
            platform_fee=money(model.platform_fee_minor),
            provider_fee=money(model.provider_fee_minor),
            total=money(model.total_minor),
            refunded=money(model.refunded_minor),
            expires_at=model.expires_at if model.status is OrderStatusModel.PENDING else None,
            created_at=model.created_at,
            confirmed_at=model.confirmed_at,
            dispute_status=model.dispute_status,
            model=model,
        )

    @strawberry.field
    def buyer_email(self, info: Info) -> str:
        return visible_buyer_email(info.context.actor, self.model)

    @strawberry.field
    async def event(self, info: Info) -> Annotated[Event, strawberry.lazy("schema.events.types")]:
        return await loaders.event_of(info, self.model.event_id)

    @strawberry.field
    async def occurrence(
        self, info: Info
    ) -> Annotated[EventOccurrence, strawberry.lazy("schema.events.types")]:
        found = await loaders.occurrence_of(info, self.model.occurrence_id)
        assert found is not None  # orders are deleted with their occurrence
        return found

    @strawberry.field
    async def items(self, info: Info) -> list[OrderItem]:
        rows = await info.context.loader(loaders.OrderItemsByOrderLoader).load(self.model.id)
        return [OrderItem.from_model(r, self.model.currency) for r in rows]

    @strawberry.field(description="The tickets of a confirmed order that the viewer may see.")
    async def tickets(
        self, info: Info
    ) -> list[Annotated[Ticket, strawberry.lazy("schema.tickets.types")]]:
        from schema.tickets.loaders import TicketsByOrderLoader

        return await info.context.loader(TicketsByOrderLoader).load(self.model.id)

    @strawberry.field
    async def payments(self, info: Info) -> list[Payment]:
        rows = await info.context.loader(loaders.PaymentsByOrderLoader).load(self.model.id)
        return [Payment.from_model(r) for r in rows]


@strawberry.type
class OrderPayload:
    order: Order | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class PaymentPayload:
    payment: Payment | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
