from __future__ import annotations

import strawberry


@strawberry.input
class CreateVenueInput:
    organization_id: strawberry.ID
    name: str
    address: str | None = None
    timezone: str = strawberry.field(description="IANA time zone, e.g. Africa/Lagos.")


@strawberry.input
class SeatInput:
    section: str
    row: str
    number: str


@strawberry.input(description="Seats numbered `first` to `last` (inclusive) in one row.")
class SeatRangeInput:
    section: str
    row: str
    first: int
    last: int


@strawberry.input
class CreateSeatmapInput:
    venue_id: strawberry.ID
    name: str
    seats: list[SeatInput]
    seat_ranges: list[SeatRangeInput] | None = strawberry.field(
        default=None,
        description="Rows of consecutively numbered seats, added to `seats`: a compact way "
        "to send a stadium.",
    )
