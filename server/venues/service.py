"""Venues and their seatmaps.

A seatmap is written in one statement however large it is: the seats travel as three
arrays and PostgreSQL unnests them (`INSERT ... SELECT FROM unnest(...)`), so a 50,000-seat
stadium costs one round trip, not 50,000."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import ARRAY, Uuid, any_, literal, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.errors import Validator
from server.ids import new_id
from server.organizations.access import Permission, authorize
from server.venues.errors import DuplicateSeats, SeatmapNotFound, UnknownTimezone, VenueNotFound
from server.venues.models import Seat, Seatmap, Venue

MAX_NAME_LENGTH = 200
MAX_ADDRESS_LENGTH = 500
MAX_SEATS = 200_000
MAX_RANGE = 10_000
LABEL_LIMITS = {"section": 64, "row": 16, "number": 16}
DUPLICATES_SHOWN = 5

INSERT_SEATS = text(
    'INSERT INTO seats (id, seatmap_id, section, "row", number) '
    "SELECT uuidv7(), :seatmap_id, t.section, t.row, t.number "
    "FROM unnest(CAST(:sections AS varchar[]), CAST(:rows AS varchar[]), "
    "CAST(:numbers AS varchar[])) WITH ORDINALITY AS t(section, row, number, ord) "
    "ORDER BY t.ord"
)


@dataclass(frozen=True, slots=True)
class SeatSpec:
    section: str
    row: str
    number: str


@dataclass(frozen=True, slots=True)
class SeatRange:
    """Seats `first`..`last` (inclusive) of one row, numbered with plain integers."""

    section: str
    row: str
    first: int
    last: int


def check_timezone(name: str, field: str = "timezone") -> str:
    clean = name.strip()
    try:
        ZoneInfo(clean)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimezone(field=field) from None
    return clean


async def create_venue(
    session: AsyncSession,
    *,
    actor: Actor,
    organization_id: uuid.UUID,
    name: str,
    address: str | None,
    timezone: str,
) -> Venue:
    await authorize(session, actor, organization_id, Permission.EVENTS_WRITE)
    clean_name = name.strip()
    clean_address = address.strip() if address is not None else None
    checks = Validator()
    checks.check(
        0 < len(clean_name) <= MAX_NAME_LENGTH, "name", "Enter a name (up to 200 characters)."
    )
    checks.check(
        clean_address is None or len(clean_address) <= MAX_ADDRESS_LENGTH,
        "address",
        "The address is longer than 500 characters.",
    )
    try:
        zone = check_timezone(timezone)
    except UnknownTimezone as error:
        checks.errors.append(error)
    checks.raise_if_any()
    venue = Venue(
        id=new_id(),
        organization_id=organization_id,
        name=clean_name,
        address=clean_address or None,
        timezone=zone,
    )
    session.add(venue)
    await session.flush()
    return venue


async def get_venue(session: AsyncSession, *, actor: Actor, venue_id: uuid.UUID) -> Venue:
    venue = await session.get(Venue, venue_id)
    if venue is None:
        raise VenueNotFound()
    await authorize(
        session, actor, venue.organization_id, Permission.EVENTS_READ, not_found=VenueNotFound()
    )
    return venue


async def list_venues(
    session: AsyncSession, *, actor: Actor, organization_id: uuid.UUID
) -> list[Venue]:
    await authorize(session, actor, organization_id, Permission.EVENTS_READ)
    rows = await session.scalars(
        select(Venue).where(Venue.organization_id == organization_id).order_by(Venue.id)
    )
    return list(rows)


def _expand(
    seats: Sequence[SeatSpec], ranges: Sequence[SeatRange], checks: Validator
) -> list[SeatSpec]:
    expanded = [SeatSpec(s.section.strip(), s.row.strip(), s.number.strip()) for s in seats]
    for i, seat_range in enumerate(ranges):
        span = seat_range.last - seat_range.first + 1
        if seat_range.first < 0 or span < 1 or span > MAX_RANGE:
            checks.add(
                ["seatRanges", str(i)],
                f"A range runs from a first number to a last one, at most {MAX_RANGE} seats.",
            )
            continue
        section, row = seat_range.section.strip(), seat_range.row.strip()
        expanded.extend(
            SeatSpec(section, row, str(n)) for n in range(seat_range.first, seat_range.last + 1)
        )
    return expanded


def _check_labels(seats: Sequence[SeatSpec], checks: Validator) -> None:
    if not seats:
        checks.add("seats", "A seatmap needs at least one seat.")
        return
    if len(seats) > MAX_SEATS:
        checks.add("seats", f"A seatmap has at most {MAX_SEATS} seats.")
        return
    for part, limit in LABEL_LIMITS.items():
        bad = next((i for i, s in enumerate(seats) if not 0 < len(getattr(s, part)) <= limit), None)
        if bad is not None:
            checks.add(
                "seats",
                f"Every seat needs a {part} of 1 to {limit} characters "
                f"(seat {bad + 1} has {getattr(seats[bad], part)!r}).",
            )
    counts = Counter((s.section, s.row, s.number) for s in seats)
    repeated = [key for key, n in counts.items() if n > 1]
    if repeated:
        labels = [f"{s}/{r}/{n}" for s, r, n in repeated[:DUPLICATES_SHOWN]]
        checks.errors.append(DuplicateSeats(labels, len(repeated)))


async def create_seatmap(
    session: AsyncSession,
    *,
    actor: Actor,
    venue_id: uuid.UUID,
    name: str,
    seats: Sequence[SeatSpec],
    ranges: Sequence[SeatRange] = (),
) -> Seatmap:
    venue = await session.get(Venue, venue_id)
    if venue is None:
        raise VenueNotFound(field="venueId")
    await authorize(
        session,
        actor,
        venue.organization_id,
        Permission.EVENTS_WRITE,
        not_found=VenueNotFound(field="venueId"),
    )
    clean_name = name.strip()
    checks = Validator()
    checks.check(
        0 < len(clean_name) <= MAX_NAME_LENGTH, "name", "Enter a name (up to 200 characters)."
    )
    all_seats = _expand(seats, ranges, checks)
    _check_labels(all_seats, checks)
    checks.raise_if_any()

    seatmap = Seatmap(
        id=new_id(),
        organization_id=venue.organization_id,
        venue_id=venue.id,
        name=clean_name,
        seat_count=len(all_seats),
    )
    session.add(seatmap)
    await session.flush()
    await session.execute(
        INSERT_SEATS,
        {
            "seatmap_id": seatmap.id,
            "sections": [s.section for s in all_seats],
            "rows": [s.row for s in all_seats],
            "numbers": [s.number for s in all_seats],
        },
    )
    return seatmap


async def get_seatmap(session: AsyncSession, *, actor: Actor, seatmap_id: uuid.UUID) -> Seatmap:
    seatmap = await session.get(Seatmap, seatmap_id)
    if seatmap is None:
        raise SeatmapNotFound()
    await authorize(
        session,
        actor,
        seatmap.organization_id,
        Permission.EVENTS_READ,
        not_found=SeatmapNotFound(),
    )
    return seatmap


async def seats_of_seatmaps(
    session: AsyncSession, seatmap_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Any]]:
    """Seats of several seatmaps as light rows (id, seatmap_id, section, row, number), in
    input order. No access check: callers reached the seatmap through a checked path."""
    rows = await session.execute(
        select(Seat.id, Seat.seatmap_id, Seat.section, Seat.row, Seat.number)
        .where(Seat.seatmap_id == any_(literal(list(seatmap_ids), ARRAY(Uuid))))
        .order_by(Seat.seatmap_id, Seat.id)
    )
    result: dict[uuid.UUID, list[Any]] = {i: [] for i in seatmap_ids}
    for row in rows:
        result[row.seatmap_id].append(row)
    return result
