from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query
from schema.promotions.types import Promotion
from server.promotions.service import list_promotions


@strawberry.type
class PromotionQueries:
    @strawberry.field(
        description="The organization's promotions, newest first (members, or events:read); "
        "with eventId, those that apply to that event."
    )
    async def promotions(
        self, info: Info, organization_id: strawberry.ID, event_id: strawberry.ID | None = None
    ) -> list[Promotion]:
        org = require_id(organization_id, "organizationId")
        event = require_id(event_id, "eventId") if event_id is not None else None
        rows = await run_query(
            info,
            lambda s: list_promotions(
                s, actor=info.context.actor, organization_id=org, event_id=event
            ),
            replica=True,
        )
        return [Promotion.from_model(row) for row in rows]
