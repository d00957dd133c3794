from __future__ import annotations

import strawberry

from schema.context import Info
from schema.errors import run_mutation
from schema.ids import input_id
from schema.permissions import IsAuthenticated
from schema.venues.inputs import CreateSeatmapInput, CreateVenueInput
from schema.venues.types import Seatmap, SeatmapPayload, Venue, VenuePayload
from server.venues import service
from server.venues.models import Seatmap as SeatmapModel
from server.venues.models import Venue as VenueModel
from server.venues.service import SeatRange, SeatSpec


@strawberry.type
class VenueMutations:
    @strawberry.mutation(description="Add a venue to an organization (managers and owners).")
    async def create_venue(self, info: Info, input: CreateVenueInput) -> VenuePayload:
        async def work(s):  # type: ignore[no-untyped-def]
            return await service.create_venue(
                s,
                actor=info.context.actor,
                organization_id=input_id(input.organization_id, "organizationId"),
                name=input.name,
                address=input.address,
                timezone=input.timezone,
            )

        venue: VenueModel | None
        venue, errors = await run_mutation(info, work)
        return VenuePayload(venue=Venue.from_model(venue) if venue else None, errors=errors)

    @strawberry.mutation(
        permission_classes=[IsAuthenticated],
        description="Create a venue's seatmap with all its seats in one call; seat labels "
        "(section, row, number) are unique within it.",
    )
    async def create_seatmap(self, info: Info, input: CreateSeatmapInput) -> SeatmapPayload:
        seats = [SeatSpec(s.section, s.row, s.number) for s in input.seats]
        ranges = [SeatRange(r.section, r.row, r.first, r.last) for r in input.seat_ranges or []]

        async def work(s):  # type: ignore[no-untyped-def]
            return await service.create_seatmap(
                s,
                actor=info.context.actor,
                venue_id=input_id(input.venue_id, "venueId"),
                name=input.name,
                seats=seats,
                ranges=ranges,
            )

        seatmap: SeatmapModel | None
        seatmap, errors = await run_mutation(info, work)
        return SeatmapPayload(seatmap=Seatmap.of_venue(seatmap) if seatmap else None, errors=errors)
