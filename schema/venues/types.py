from __future__ import annotations

import uuid
from typing import Any, Protocol

import strawberry

from schema.context import Info
from schema.errors import UserError


class _VenueLike(Protocol):
    @property
    def id(self) -> uuid.UUID: ...
    @property
    def name(self) -> str: ...
    @property
    def address(self) -> str | None: ...
    @property
    def timezone(self) -> str: ...


@strawberry.type
class Venue:
    id: strawberry.ID
    name: str
    address: str | None
    timezone: str = strawberry.field(description="IANA time zone, e.g. Africa/Lagos.")

    @classmethod
    def from_model(cls, model: _VenueLike) -> Venue:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            address=model.address,
            timezone=model.timezone,
        )


@strawberry.type
class Seat:
    id: strawberry.ID
    section: str
    row: str
    number: str

    @classmethod
    def from_model(cls, model: Any) -> Seat:
        """From a venue seat or an event snapshot seat (ORM object or light row)."""
        return cls(
            id=strawberry.ID(str(model.id)),
            section=model.section,
            row=model.row,
            number=model.number,
        )


@strawberry.type(
    description="A seat layout: a venue's own, or an event's snapshot of one (the seats "
    "an event sells, copied when the event was created)."
)
class Seatmap:
    id: strawberry.ID
    name: str
    stored_seat_count: strawberry.Private[int | None] = None
    seatmap_id: strawberry.Private[uuid.UUID | None] = None
    event_id: strawberry.Private[uuid.UUID | None] = None

    @classmethod
    def of_venue(cls, model: Any) -> Seatmap:
        return cls(
            id=strawberry.ID(str(model.id)),
            name=model.name,
            stored_seat_count=model.seat_count,
            seatmap_id=model.id,
        )

    @classmethod
    def of_event(cls, *, event_id: uuid.UUID, source_id: uuid.UUID | None, name: str) -> Seatmap:
        """An event's snapshot, named by the seatmap it was copied from (by the event's
        own id once that seatmap is gone)."""
        return cls(id=strawberry.ID(str(source_id or event_id)), name=name, event_id=event_id)

    @strawberry.field
    async def seat_count(self, info: Info) -> int:
        from schema.venues.loaders import EventSeatCountByEventLoader

        if self.event_id is None:
            return self.stored_seat_count or 0
        return await info.context.loader(EventSeatCountByEventLoader).load(self.event_id)

    @strawberry.field(description="Every seat; for an event, the seats of its snapshot.")
    async def seats(self, info: Info, section: str | None = None) -> list[Seat]:
        from schema.venues.loaders import EventSeatsByEventLoader, SeatsBySeatmapLoader

        if self.event_id is not None:
            rows = await info.context.loader(EventSeatsByEventLoader).load(self.event_id)
        else:
            assert self.seatmap_id is not None
            rows = await info.context.loader(SeatsBySeatmapLoader).load(self.seatmap_id)
        return [Seat.from_model(r) for r in rows if section is None or r.section == section]


@strawberry.type
class VenuePayload:
    venue: Venue | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class SeatmapPayload:
    seatmap: Seatmap | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
