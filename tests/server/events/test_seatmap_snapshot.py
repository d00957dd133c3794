"""The `events_snapshot_seatmap` trigger copies a seatmap into the event's own seats when
the event row is inserted, so later edits to the venue's seatmap never change what an
existing event sells."""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select, text, update

from server.auth.actor import Actor
from server.db import Database
from server.events.models import Event, EventSeat
from server.ids import new_id
from server.venues import service as venues
from server.venues.models import Seat, Seatmap
from server.venues.service import SeatSpec
from tests.schema.events import catalog
from tests.support import factories
from tests.support.gql import GraphQLClient

LAYOUT = [SeatSpec("A", "1", "1"), SeatSpec("A", "1", "2"), SeatSpec("B", "1", "1")]


async def seatmap_of(gql: GraphQLClient, db: Database) -> tuple[factories.TestOrg, Seatmap]:
    org = await factories.create_org(gql)
    actor = Actor(user_id=uuid.UUID(org.owner.id))
    async with db.transaction() as session:
        venue = await venues.create_venue(
            session,
            actor=actor,
            organization_id=uuid.UUID(org.id),
            name="Hall",
            address=None,
            timezone="UTC",
        )
        seatmap = await venues.create_seatmap(
            session, actor=actor, venue_id=venue.id, name="Main", seats=LAYOUT
        )
    return org, seatmap


async def snapshot(db: Database, event_id: str | uuid.UUID) -> list[tuple[str, str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(EventSeat.section, EventSeat.row, EventSeat.number)
            .where(EventSeat.event_id == uuid.UUID(str(event_id)))
            .order_by(EventSeat.section, EventSeat.row, EventSeat.number)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


async def test_an_event_created_with_a_seatmap_gets_a_copy_of_its_seats(
    gql: GraphQLClient, db: Database
) -> None:
    org, seatmap = await seatmap_of(gql, db)

    event = await catalog.create_event(gql, org, seatmapId=str(seatmap.id))

    assert await snapshot(db, event["id"]) == [("A", "1", "1"), ("A", "1", "2"), ("B", "1", "1")]
    async with db.read() as session:
        sources = set(
            await session.scalars(
                select(EventSeat.source_seat_id).where(EventSeat.event_id == uuid.UUID(event["id"]))
            )
        )
        seat_ids = set(await session.scalars(select(Seat.id).where(Seat.seatmap_id == seatmap.id)))
    assert sources == seat_ids
    assert event["seatmap"] == {"id": str(seatmap.id), "name": "Main", "seatCount": 3}


async def test_editing_the_venue_seatmap_later_leaves_the_event_copy_alone(
    gql: GraphQLClient, db: Database
) -> None:
    org, seatmap = await seatmap_of(gql, db)
    event = await catalog.create_event(gql, org, seatmapId=str(seatmap.id))
    before = await snapshot(db, event["id"])

    async with db.transaction() as session:
        await session.execute(
            update(Seat).where(Seat.seatmap_id == seatmap.id, Seat.section == "B").values(row="9")
        )
        await session.execute(delete(Seat).where(Seat.seatmap_id == seatmap.id, Seat.number == "2"))
        session.add(Seat(id=new_id(), seatmap_id=seatmap.id, section="C", row="1", number="1"))
    later = await catalog.create_event(gql, org, seatmapId=str(seatmap.id), title="Later")

    assert await snapshot(db, event["id"]) == before
    assert await snapshot(db, later["id"]) == [("A", "1", "1"), ("B", "9", "1"), ("C", "1", "1")]


async def test_deleting_the_venue_seatmap_keeps_the_snapshot_and_its_name(
    gql: GraphQLClient, db: Database
) -> None:
    org, seatmap = await seatmap_of(gql, db)
    event = await catalog.create_event(gql, org, seatmapId=str(seatmap.id))

    async with db.transaction() as session:
        await session.execute(delete(Seatmap).where(Seatmap.id == seatmap.id))
    data = await gql(catalog.EVENT_BY_ID, {"id": event["id"]}, token=org.owner.token)

    assert len(await snapshot(db, event["id"])) == 3
    assert data["event"]["seatmap"] == {"id": event["id"], "name": "Main", "seatCount": 3}


async def test_the_trigger_acts_on_any_insert_not_only_the_service(
    gql: GraphQLClient, db: Database
) -> None:
    org, seatmap = await seatmap_of(gql, db)
    event_id = new_id()

    async with db.transaction() as session:
        await session.execute(
            text(
                "INSERT INTO events (id, organization_id, seatmap_id, slug, title, status, "
                "timezone, transfer_allowed, guest_checkout) VALUES (:id, :org, :seatmap, "
                "'raw', 'Raw', 'draft', 'UTC', true, true)"
            ),
            {"id": event_id, "org": uuid.UUID(org.id), "seatmap": seatmap.id},
        )

    assert len(await snapshot(db, event_id)) == 3


async def test_an_event_without_a_seatmap_has_no_seats(gql: GraphQLClient, db: Database) -> None:
    org = await factories.create_org(gql)

    event = await catalog.create_event(gql, org)

    assert await snapshot(db, event["id"]) == []
    assert event["seatmap"] is None
    async with db.read() as session:
        stored = await session.get(Event, uuid.UUID(event["id"]))
    assert stored is not None and stored.seatmap_id is None
