from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import ClientError, run_query, run_query_or_none
from schema.orders.types import Order
from server.orders.reading import get_order, list_my_orders

MAX_PAGE = 100


@strawberry.type
class OrderQueries:
    @strawberry.field(description="An order you placed, or one of your organization's orders.")
    async def order(self, info: Info, id: strawberry.ID) -> Order | None:
        order_id = require_id(id)
        found = await run_query_or_none(
            info, lambda s: get_order(s, actor=info.context.actor, order_id=order_id)
        )
        return Order.from_model(found) if found else None

    @strawberry.field(description="Your orders, newest first; pass the last order's id as `after`.")
    async def my_orders(
        self, info: Info, first: int | None = 20, after: str | None = None
    ) -> list[Order]:
        size = 20 if first is None else first
        if not 1 <= size <= MAX_PAGE:
            raise ClientError(f"`first` must be between 1 and {MAX_PAGE}.")
        after_id = require_id(after, "after") if after else None
        actor = info.context.actor
        orders = await run_query(
            info, lambda s: list_my_orders(s, actor=actor, first=size, after=after_id), replica=True
        )
        return [Order.from_model(o) for o in orders]
