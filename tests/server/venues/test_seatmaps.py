"""Seatmaps are written in bulk: a stadium costs a fixed handful of statements, and its
labels are checked before anything is stored."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from server.auth.actor import Actor
from server.db import Database
from server.errors import DomainError, DomainErrors, ErrorCode
from server.venues import service
from server.venues.models import Seat, Seatmap
from server.venues.service import SeatRange, SeatSpec
from tests.support import factories
from tests.support.gql import GraphQLClient


@contextmanager
def counted_statements(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement)

    engine = db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


async def manager_with_venue(gql: GraphQLClient, db: Database) -> tuple[Actor, uuid.UUID]:
    org = await factories.create_org(gql)
    actor = Actor(user_id=uuid.UUID(org.owner.id))
    async with db.transaction() as session:
        venue = await service.create_venue(
            session,
            actor=actor,
            organization_id=uuid.UUID(org.id),
            name="National Stadium",
            address=None,
            timezone="Africa/Lagos",
        )
    return actor, venue.id


def stadium(sections: int, rows: int, per_row: int) -> list[SeatSpec]:
    return [
        SeatSpec(f"S{s:02}", f"R{r:02}", str(n))
        for s in range(sections)
        for r in range(rows)
        for n in range(1, per_row + 1)
    ]


async def seat_count(db: Database, seatmap_id: uuid.UUID | None = None) -> int:
    async with db.read() as session:
        query = select(func.count()).select_from(Seat)
        if seatmap_id is not None:
            query = query.where(Seat.seatmap_id == seatmap_id)
        return int(await session.scalar(query) or 0)


async def test_a_50000_seat_stadium_is_one_insert_statement(
    gql: GraphQLClient, db: Database
) -> None:
    actor, venue_id = await manager_with_venue(gql, db)
    seats = stadium(sections=50, rows=40, per_row=25)
    assert len(seats) == 50_000

    started = time.perf_counter()
    with counted_statements(db) as statements:
        async with db.transaction() as session:
            seatmap = await service.create_seatmap(
                session, actor=actor, venue_id=venue_id, name="Stadium", seats=seats
            )
    elapsed = time.perf_counter() - started
    print(f"\n50,000-seat seatmap created in {elapsed:.2f}s")

    seat_inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT INTO SEATS")]
    assert len(seat_inserts) == 1
    assert len(statements) < 10
    assert await seat_count(db, seatmap.id) == 50_000
    async with db.read() as session:
        stored = await session.get(Seatmap, seatmap.id)
        first = (
            await session.execute(
                select(Seat.section, Seat.row, Seat.number)
                .where(Seat.seatmap_id == seatmap.id)
                .order_by(Seat.id)
                .limit(2)
            )
        ).all()
    assert stored is not None and stored.seat_count == 50_000
    assert [tuple(r) for r in first] == [("S00", "R00", "1"), ("S00", "R00", "2")]


async def test_duplicate_labels_are_one_validation_error_naming_a_few(
    gql: GraphQLClient, db: Database
) -> None:
    actor, venue_id = await manager_with_venue(gql, db)
    seats = stadium(1, 1, 10) + [SeatSpec("S00", "R00", str(n)) for n in range(1, 8)]

    with pytest.raises(DomainError) as caught:
        async with db.transaction() as session:
            await service.create_seatmap(
                session, actor=actor, venue_id=venue_id, name="Twice", seats=seats
            )

    assert caught.value.code is ErrorCode.VALIDATION
    assert caught.value.field == ["seats"]
    assert "S00/R00/1, S00/R00/2, S00/R00/3, S00/R00/4, S00/R00/5 and 2 more" in (
        caught.value.message
    )
    assert await seat_count(db) == 0


async def test_ranges_expand_into_numbered_seats_alongside_listed_ones(
    gql: GraphQLClient, db: Database
) -> None:
    actor, venue_id = await manager_with_venue(gql, db)

    async with db.transaction() as session:
        seatmap = await service.create_seatmap(
            session,
            actor=actor,
            venue_id=venue_id,
            name="Mixed",
            seats=[SeatSpec("BOX", "A", "1")],
            ranges=[SeatRange("North", "1", 1, 300), SeatRange("North", "2", 5, 9)],
        )

    assert seatmap.seat_count == 306
    assert await seat_count(db, seatmap.id) == 306


async def test_a_range_overlapping_a_listed_seat_is_a_duplicate(
    gql: GraphQLClient, db: Database
) -> None:
    actor, venue_id = await manager_with_venue(gql, db)

    with pytest.raises(DomainError) as caught:
        async with db.transaction() as session:
            await service.create_seatmap(
                session,
                actor=actor,
                venue_id=venue_id,
                name="Clash",
                seats=[SeatSpec("North", "1", "7")],
                ranges=[SeatRange("North", "1", 1, 10)],
            )

    assert "North/1/7" in caught.value.message
    assert await seat_count(db) == 0


async def test_empty_and_overlong_labels_and_bad_ranges_are_reported_together(
    gql: GraphQLClient, db: Database
) -> None:
    actor, venue_id = await manager_with_venue(gql, db)

    with pytest.raises(DomainErrors) as caught:
        async with db.transaction() as session:
            await service.create_seatmap(
                session,
                actor=actor,
                venue_id=venue_id,
                name=" ",
                seats=[SeatSpec("A", " ", "1"), SeatSpec("A", "1", "x" * 17)],
                ranges=[SeatRange("B", "1", 10, 1)],
            )

    fields = [e.field for e in caught.value.errors]
    assert ["name"] in fields
    assert ["seatRanges", "0"] in fields
    assert fields.count(["seats"]) == 2
    assert all(e.code is ErrorCode.VALIDATION for e in caught.value.errors)
    assert await seat_count(db) == 0
