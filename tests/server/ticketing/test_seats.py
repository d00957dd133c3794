from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.clock import utcnow
from server.db import Database
from server.errors import DomainError
from server.events.models import EventSeat
from server.ticketing import seats
from server.ticketing.models import SeatState
from server.ticketing.queries import seat_states
from tests.server.ticketing.conftest import Catalog


async def _seat_ids(db: Database, event_id: object, section: str) -> list[object]:
    async with db.read() as session:
        return list(
            (
                await session.scalars(
                    select(EventSeat.id)
                    .where(EventSeat.event_id == event_id, EventSeat.section == section)
                    .order_by(EventSeat.number)
                )
            ).all()
        )


async def test_the_event_keeps_its_own_copy_of_the_seatmap(catalog: Catalog, db: Database) -> None:
    event, _ = await catalog.event(seats={"A": 3, "B": 2})

    assert len(await _seat_ids(db, event.id, "A")) == 3
    assert len(await _seat_ids(db, event.id, "B")) == 2


async def test_one_of_many_concurrent_buyers_gets_a_seat(catalog: Catalog, db: Database) -> None:
    event, dates = await catalog.event(seats={"A": 4})
    ticket_type = await catalog.ticket_type(event, quantity=4, sections=["A"])
    seat = (await _seat_ids(db, event.id, "A"))[0]

    async def buy() -> str:
        try:
            async with db.transaction() as session:
                await seats.allocate(
                    session,
                    occurrence_id=dates[0].id,
                    ticket_type_id=ticket_type.id,
                    seat_ids=[seat],  # type: ignore[list-item]
                    state=SeatState.RESERVED,
                    now=utcnow(),
                    expires_at=utcnow() + timedelta(minutes=15),
                )
            return "ok"
        except DomainError as error:
            return error.code.value

    outcomes = await asyncio.gather(*[buy() for _ in range(20)])

    assert outcomes.count("ok") == 1
    assert set(outcomes) == {"ok", "SOLD_OUT"}


async def test_seat_states_show_held_reserved_sold_and_expired_as_available(
    catalog: Catalog, db: Database
) -> None:
    event, dates = await catalog.event(seats={"A": 4})
    ticket_type = await catalog.ticket_type(event, quantity=4, sections=["A"])
    ids = await _seat_ids(db, event.id, "A")
    now = utcnow()
    async with db.transaction() as session:
        for seat_id, state, expires in (
            (ids[0], SeatState.HELD, now + timedelta(hours=1)),
            (ids[1], SeatState.RESERVED, now + timedelta(minutes=10)),
            (ids[2], SeatState.RESERVED, now - timedelta(minutes=1)),
            (ids[3], SeatState.SOLD, None),
        ):
            await seats.allocate(
                session,
                occurrence_id=dates[0].id,
                ticket_type_id=ticket_type.id,
                seat_ids=[seat_id],
                state=state,
                now=now,
                expires_at=expires,
            )  # type: ignore[list-item]

    async with db.read() as session:
        states = await seat_states(
            session, actor=catalog.outsider, occurrence_id=dates[0].id, section="A", now=utcnow()
        )

    assert [(s.number, s.state) for s in states] == [
        ("1", "held"),
        ("2", "reserved"),
        ("3", "available"),
        ("4", "sold"),
    ]


async def test_seats_outside_the_ticket_types_sections_are_refused(
    catalog: Catalog, db: Database
) -> None:
    event, dates = await catalog.event(seats={"A": 2, "B": 2})
    a_only = await catalog.ticket_type(event, quantity=2, sections=["A"])
    b_seat = (await _seat_ids(db, event.id, "B"))[0]

    with pytest.raises(DomainError) as error:
        async with db.read() as session:
            await seats.check_seats(
                session,
                occurrence_id=dates[0].id,
                ticket_type_id=a_only.id,
                seat_ids=[b_seat],  # type: ignore[list-item]
                field=["seatIds"],
            )

    assert error.value.field == ["seatIds"]


async def test_a_seated_type_cannot_sell_more_than_its_sections_hold(catalog: Catalog) -> None:
    event, _ = await catalog.event(seats={"A": 3})

    with pytest.raises(DomainError) as error:
        await catalog.ticket_type(event, quantity=4, sections=["A"])

    assert (error.value.code.value, error.value.field) == ("VALIDATION", ["quantity"])
