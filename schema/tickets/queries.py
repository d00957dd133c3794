from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import run_query
from schema.permissions import IsUser
from schema.tickets.types import Ticket
from server.tickets.service import my_tickets


@strawberry.type
class TicketQueries:
    @strawberry.field(
        description="Tickets the signed-in user holds, including guest orders made with "
        "their email; soonest date first.",
        permission_classes=[IsUser],
    )
    async def my_tickets(self, info: Info) -> list[Ticket]:
        rows = await run_query(
            info, lambda s: my_tickets(s, actor=info.context.actor), replica=True
        )
        return [Ticket.from_model(r) for r in rows]
