from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from schema.common import Money
from schema.context import Info
from server.analytics.figures import Figures
from server.analytics.results import Interval, Summary, TypeSales
from server.analytics.service import Scope

if TYPE_CHECKING:
    from schema.events.types import Event
    from schema.ticketing.types import TicketType

AnalyticsInterval = strawberry.enum(Interval, name="AnalyticsInterval")


@strawberry.type
class SalesPoint:
    at: datetime
    orders: int
    tickets: int = strawberry.field(description="Tickets sold in the bucket (refunded or not).")
    gross: Money
    refunds: Money = strawberry.field(description="Refunds that succeeded in the bucket.")


@strawberry.type
class TicketTypeSales:
    sold: int
    reserved: int
    gross: Money = strawberry.field(description="Face value of this type's paid tickets.")
    row: strawberry.Private[TypeSales]

    @strawberry.field
    async def ticket_type(
        self, info: Info
    ) -> Annotated[TicketType, strawberry.lazy("schema.ticketing.types")]:
        from schema.ticketing.loaders import ticket_type_of

        return await ticket_type_of(info, self.row.ticket_type_id)


@strawberry.type
class CheckInPoint:
    at: datetime
    check_ins: int


@strawberry.type(
    description="An event's numbers (or one date's), exactly as the orders, payments, "
    "refunds and check-ins say, all in one snapshot (the series agree with the totals). "
    "gross is the face value of paid orders; buyers paid gross - discounts + "
    "fees; net = that minus refunds."
)
class EventAnalytics:
    orders_confirmed: int
    orders_pending: int
    orders_expired: int
    orders_cancelled: int
    orders_refunded: int = strawberry.field(description="Orders refunded in full.")
    tickets_sold: int
    tickets_reserved: int = strawberry.field(description="In pending orders.")
    checked_in: int
    waitlisted: int = strawberry.field(description="Waitlist entries still waiting.")
    gross: Money
    discounts: Money
    fees: Money
    refunds: Money
    net: Money
    sell_through: float = strawberry.field(description="Tickets sold / tickets for sale.")
    scope: strawberry.Private[Scope]
    summary: strawberry.Private[Summary]
    figures: strawberry.Private[Figures]

    @classmethod
    def of(cls, scope: Scope, figures: Figures) -> EventAnalytics:
        summary = figures.summary()

        def money(minor: int) -> Money:
            return Money.of(minor, summary.currency)

        return cls(
            orders_confirmed=summary.orders_confirmed,
            orders_pending=summary.orders_pending,
            orders_expired=summary.orders_expired,
            orders_cancelled=summary.orders_cancelled,
            orders_refunded=summary.orders_refunded,
            tickets_sold=summary.tickets_sold,
            tickets_reserved=summary.tickets_reserved,
            checked_in=summary.checked_in,
            waitlisted=summary.waitlisted,
            gross=money(summary.gross),
            discounts=money(summary.discounts),
            fees=money(summary.fees),
            refunds=money(summary.refunds),
            net=money(summary.net),
            sell_through=summary.sell_through,
            scope=scope,
            summary=summary,
            figures=figures,
        )

    @strawberry.field
    async def event(self, info: Info) -> Annotated[Event, strawberry.lazy("schema.events.types")]:
        from schema.orders.loaders import event_of

        return await event_of(info, self.scope.event.id)

    @strawberry.field
    def by_ticket_type(self) -> list[TicketTypeSales]:
        currency = self.summary.currency
        return [
            TicketTypeSales(
                sold=t.sold, reserved=t.reserved, gross=Money.of(t.gross, currency), row=t
            )
            for t in self.summary.by_type
        ]

    @strawberry.field(description="Buckets in UTC; `from` inclusive, `to` exclusive.")
    def sales(
        self,
        interval: AnalyticsInterval | None = Interval.DAY,  # type: ignore[valid-type]
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> list[SalesPoint]:
        currency = self.summary.currency
        return [
            SalesPoint(
                at=p.at,
                orders=p.orders,
                tickets=p.tickets,
                gross=Money.of(p.gross, currency),
                refunds=Money.of(p.refunds, currency),
            )
            for p in self.figures.sales(Interval(interval or Interval.DAY), from_, to)
        ]

    @strawberry.field(description="Check-ins per bucket, in UTC; `from` inclusive, `to` exclusive.")
    def check_ins(
        self,
        interval: AnalyticsInterval | None = Interval.HOUR,  # type: ignore[valid-type]
        from_: Annotated[datetime | None, strawberry.argument(name="from")] = None,
        to: datetime | None = None,
    ) -> list[CheckInPoint]:
        return [
            CheckInPoint(at=p.at, check_ins=p.check_ins)
            for p in self.figures.check_ins(Interval(interval or Interval.HOUR), from_, to)
        ]
