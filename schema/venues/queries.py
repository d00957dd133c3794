from __future__ import annotations

import strawberry

from schema.common import require_id
from schema.context import Info
from schema.errors import run_query, run_query_or_none
from schema.permissions import IsAuthenticated
from schema.venues.types import Seatmap, Venue
from server.venues import service


@strawberry.type
class VenueQueries:
    @strawberry.field(description="An organization's venues (its members only).")
    async def venues(self, info: Info, organization_id: strawberry.ID) -> list[Venue]:
        org_id = require_id(organization_id, "organizationId")
        rows = await run_query(
            info,
            lambda s: service.list_venues(s, actor=info.context.actor, organization_id=org_id),
            replica=True,
        )
        return [Venue.from_model(v) for v in rows]

    @strawberry.field(
        permission_classes=[IsAuthenticated],
        description="A venue seatmap (its organization's members only).",
    )
    async def seatmap(self, info: Info, id: strawberry.ID) -> Seatmap | None:
        seatmap_id = require_id(id)
        found = await run_query_or_none(
            info,
            lambda s: service.get_seatmap(s, actor=info.context.actor, seatmap_id=seatmap_id),
            replica=True,
        )
        return Seatmap.of_venue(found) if found else None
