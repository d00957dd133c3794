from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.clock import utcnow
from server.db import Database
from server.errors import DomainError
from server.ticketing import holds, inventory
from server.ticketing.availability import availability
from server.ticketing.errors import HoldReleased
from server.ticketing.models import Hold, Inventory
from tests.server.ticketing.conftest import Catalog


async def _hold(
    catalog: Catalog, ticket_type_id: object, quantity: int, minutes: float = 60
) -> Hold:
    async with catalog.db.transaction() as session:
        return await holds.create_hold(
            session,
            actor=catalog.manager,
            ticket_type_id=ticket_type_id,  # type: ignore[arg-type]
            occurrence_id=None,
            quantity=quantity,
            expires_at=utcnow() + timedelta(minutes=minutes),
            note="press",
            seat_ids=None,
            now=utcnow(),
        )


async def _counts(db: Database, ticket_type_id: object) -> tuple[int, int, int]:
    async with db.read() as session:
        row = (
            await session.scalars(
                select(Inventory).where(Inventory.ticket_type_id == ticket_type_id)
            )
        ).one()
    return row.sold, row.reserved, row.held


async def test_a_hold_takes_inventory_out_of_sale(catalog: Catalog, db: Database) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)

    hold = await _hold(catalog, ticket_type.id, 4)

    async with db.read() as session:
        rows = await availability(session, now=utcnow(), ticket_type_ids=[ticket_type.id])
    assert (rows[0].available, rows[0].held) == (6, 4)
    assert len(hold.token) >= 32


async def test_a_hold_larger_than_what_is_left_is_refused_and_changes_nothing(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)
    await _hold(catalog, ticket_type.id, 8)

    with pytest.raises(DomainError) as error:
        await _hold(catalog, ticket_type.id, 3)

    assert error.value.code.value == "LIMIT_EXCEEDED"
    assert error.value.field == ["quantity"]
    assert await _counts(db, ticket_type.id) == (0, 0, 8)


async def test_an_expired_hold_stops_counting_before_any_job_runs(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)
    await _hold(catalog, ticket_type.id, 7, minutes=1)

    async with db.read() as session:
        later = await availability(
            session, now=utcnow() + timedelta(minutes=2), ticket_type_ids=[ticket_type.id]
        )

    assert (later[0].available, later[0].held) == (10, 0)
    assert await _counts(db, ticket_type.id) == (0, 0, 7)  # not released yet, only not counted


async def test_a_buyer_who_finds_a_row_short_releases_expired_holds_first(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)
    hold = await _hold(catalog, ticket_type.id, 10, minutes=1)
    async with db.transaction() as session:
        await session.execute(
            Hold.__table__.update()
            .where(Hold.id == hold.id)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    async with db.read() as session:
        row = (
            await session.scalars(
                select(Inventory).where(Inventory.ticket_type_id == ticket_type.id)
            )
        ).one()

    async with db.transaction() as session:
        await inventory.take(
            session, [inventory.Claim(row.id, 10)], counter="reserved", now=utcnow()
        )

    assert await _counts(db, ticket_type.id) == (0, 10, 0)
    async with db.read() as session:
        assert (await session.get(Hold, hold.id)).released_at is not None  # type: ignore[union-attr]


async def test_concurrent_releases_of_one_hold_return_its_units_once(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)
    hold = await _hold(catalog, ticket_type.id, 6)

    async def release() -> str:
        try:
            async with db.transaction() as session:
                await holds.release_hold(
                    session, actor=catalog.manager, hold_id=hold.id, now=utcnow()
                )
            return "released"
        except HoldReleased:
            return "already"

    async def expire() -> int:
        async with db.transaction() as session:
            return await holds.release_expired_holds(session, now=utcnow() + timedelta(hours=2))

    results = await asyncio.gather(release(), release(), expire(), release(), expire())

    released = results.count("released") + sum(r for r in results if isinstance(r, int)) // 6
    assert released == 1
    assert await _counts(db, ticket_type.id) == (0, 0, 0)


async def test_an_order_redeems_a_hold_and_gives_back_to_it_while_active(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)
    hold = await _hold(catalog, ticket_type.id, 5)

    async with db.transaction() as session:  # as an order redeems it (server.orders.booking)
        held = await holds.HoldLedger.lock(session, [hold.token], utcnow())
        stock = await inventory.StockLedger.lock(
            session, demand={hold.inventory_id: 0}, capped_occurrences=[], now=utcnow()
        )
        held.redeem(hold.token, inventory_id=hold.inventory_id, quantity=3)
        stock.take([], redeemed=[(hold.inventory_id, 3)], fields={})
        await held.apply(session, now=utcnow())
        await stock.apply(session)
    assert await _counts(db, ticket_type.id) == (0, 3, 2)
    async with db.transaction() as session:
        returned = await holds.unredeem(
            session, hold_id=hold.id, inventory_id=hold.inventory_id, quantity=3, now=utcnow()
        )

    assert returned is True
    assert await _counts(db, ticket_type.id) == (0, 0, 5)


async def test_staff_and_outsiders_cannot_create_holds(catalog: Catalog, db: Database) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=10)

    for actor, expected in ((catalog.staff, "Forbidden"), (catalog.outsider, "TicketTypeNotFound")):
        with pytest.raises(Exception) as error:
            async with db.transaction() as session:
                await holds.create_hold(
                    session,
                    actor=actor,
                    ticket_type_id=ticket_type.id,
                    occurrence_id=None,
                    quantity=1,
                    expires_at=utcnow() + timedelta(hours=1),
                    note=None,
                    seat_ids=None,
                    now=utcnow(),
                )
        assert type(error.value).__name__ == expected
    assert await _counts(db, ticket_type.id) == (0, 0, 0)
