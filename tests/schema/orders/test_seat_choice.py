"""A seat that is not one of this event's seats, or not sold by the chosen ticket type, is
the buyer's mistake: a VALIDATION error on the seat field, and nothing is reserved."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select

from server.db import Database
from server.events.models import EventSeat
from server.ticketing.models import SeatAllocation
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient, payload_errors


async def allocations(db: Database) -> int:
    async with db.read() as session:
        return int(await session.scalar(select(func.count()).select_from(SeatAllocation)) or 0)


async def venue_seat_id(db: Database, event_id: str) -> str:
    async with db.read() as session:
        source = await session.scalar(
            select(EventSeat.source_seat_id).where(EventSeat.event_id == uuid.UUID(event_id))
        )
    assert source is not None
    return str(source)


@pytest.fixture
async def setting(gql: GraphQLClient, db: Database) -> dict[str, Any]:
    sale = await commerce.seated_sale(gql, seats={"A": (1, 3), "B": (1, 2)})
    b_only = await commerce.add_ticket_type(gql, sale, quantity=2, sections=["B"])
    other = await commerce.seated_sale(gql, sale.org, seats={"A": (1, 1)})
    return {
        "sale": sale,
        "b_only": b_only,
        "seats": await commerce.seat_ids(gql, sale),
        "other_event_seat": next(iter((await commerce.seat_ids(gql, other)).values())),
        "venue_seat": await venue_seat_id(db, sale.event_id),
        "buyer": await factories.register(gql),
    }


@pytest.mark.parametrize(
    "choice",
    ["random", "venue-seatmap", "other-event", "other-section", "twice"],
)
async def test_a_seat_outside_the_ticket_types_choice_is_a_validation_error(
    gql: GraphQLClient, db: Database, setting: dict[str, Any], choice: str
) -> None:
    sale, seats = setting["sale"], setting["seats"]
    ticket_type, seat_ids = {
        "random": (sale.ticket_type_id, [str(uuid.uuid4())]),
        "venue-seatmap": (sale.ticket_type_id, [setting["venue_seat"]]),
        "other-event": (sale.ticket_type_id, [setting["other_event_seat"]]),
        "other-section": (setting["b_only"], [seats["A/1/1"]]),
        "twice": (sale.ticket_type_id, [seats["A/1/1"], seats["A/1/1"]]),
    }[choice]

    payload = await commerce.order(
        gql,
        sale,
        len(seat_ids),
        token=setting["buyer"].token,
        ticket_type_id=ticket_type,
        item={"seatIds": seat_ids},
    )

    assert payload["order"] is None
    assert payload_errors(payload) == [("VALIDATION", ["items", "0", "seatIds"])]
    assert await allocations(db) == 0


async def test_a_seat_of_the_ticket_types_sections_is_reserved(
    gql: GraphQLClient, db: Database, setting: dict[str, Any]
) -> None:
    payload = await commerce.order(
        gql,
        setting["sale"],
        1,
        token=setting["buyer"].token,
        ticket_type_id=setting["b_only"],
        item={"seatIds": [setting["seats"]["B/1/2"]]},
    )

    assert payload["errors"] == []
    assert await allocations(db) == 1
