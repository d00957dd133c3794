from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, text

from server.clock import utcnow
from server.db import Database
from server.errors import DomainError
from server.ticketing import inventory
from server.ticketing.availability import SaleStatus, availability
from server.ticketing.errors import NotEnoughLeft, SoldOut
from server.ticketing.models import Inventory
from tests.server.ticketing.conftest import Catalog


async def _row(
    db: Database, ticket_type_id: object, occurrence_id: object | None = None
) -> Inventory:
    async with db.read() as session:
        query = select(Inventory).where(Inventory.ticket_type_id == ticket_type_id)
        if occurrence_id is not None:
            query = query.where(Inventory.occurrence_id == occurrence_id)
        return (await session.scalars(query)).one()


async def _reserve(db: Database, inventory_id: object, quantity: int) -> str:
    try:
        async with db.transaction() as session:
            await inventory.take(
                session,
                [inventory.Claim(inventory_id, quantity)],
                counter="reserved",
                now=utcnow(),  # type: ignore[arg-type]
            )
        return "ok"
    except DomainError as error:
        return error.code.value


async def test_each_date_of_a_weekly_show_sells_its_own_quantity(
    catalog: Catalog, db: Database
) -> None:
    event, dates = await catalog.event(dates=3)
    ticket_type = await catalog.ticket_type(event, quantity=200)

    async with db.read() as session:
        rows = (
            await session.scalars(
                select(Inventory).where(Inventory.ticket_type_id == ticket_type.id)
            )
        ).all()

    assert sorted(r.occurrence_id for r in rows) == sorted(o.id for o in dates)
    assert {r.quantity for r in rows} == {200}


async def test_concurrent_reservations_never_take_more_than_the_quantity(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=100)
    row = await _row(db, ticket_type.id)

    outcomes = await asyncio.gather(*[_reserve(db, row.id, 3) for _ in range(60)])

    assert outcomes.count("ok") == 33
    after = await _row(db, ticket_type.id)
    assert after.reserved == 99
    assert set(outcomes) - {"ok"} == {"LIMIT_EXCEEDED"}  # one unit left, three asked


async def test_sold_out_and_not_enough_left_are_told_apart(catalog: Catalog, db: Database) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=5)
    row = await _row(db, ticket_type.id)

    with pytest.raises(NotEnoughLeft) as not_enough:
        async with db.transaction() as session:
            await inventory.take(
                session,
                [inventory.Claim(row.id, 4), inventory.Claim(row.id, 4)],
                counter="reserved",
                now=utcnow(),
            )
    assert await _reserve(db, row.id, 5) == "ok"
    with pytest.raises(SoldOut):
        async with db.transaction() as session:
            await inventory.take(
                session, [inventory.Claim(row.id, 1)], counter="reserved", now=utcnow()
            )

    assert not_enough.value.available == 1
    assert (await _row(db, ticket_type.id)).reserved == 5  # the failed transaction left nothing


async def test_shared_capacity_bounds_all_ticket_types_of_a_date(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event(capacity=10)
    general = await catalog.ticket_type(event, quantity=8)
    vip = await catalog.ticket_type(event, quantity=8)
    general_row, vip_row = await _row(db, general.id), await _row(db, vip.id)

    outcomes = await asyncio.gather(
        *[_reserve(db, general_row.id, 1) for _ in range(8)],
        *[_reserve(db, vip_row.id, 1) for _ in range(8)],
    )

    assert outcomes.count("ok") == 10
    async with db.read() as session:
        allocated = await session.scalar(
            text("SELECT allocated FROM event_occurrences WHERE event_id = :e"), {"e": event.id}
        )
        rows = await availability(session, now=utcnow(), event_ids=[event.id])
    assert allocated == 10
    assert [r.available for r in rows] == [0, 0]
    assert {r.status for r in rows} == {SaleStatus.SOLD_OUT}


async def test_the_database_refuses_an_oversold_row_even_without_the_condition(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, quantity=2)
    row = await _row(db, ticket_type.id)

    with pytest.raises(Exception, match="never_oversold"):
        async with db.transaction() as session:
            await session.execute(
                text("UPDATE inventory SET sold = 3 WHERE id = :id"), {"id": row.id}
            )

    assert (await _row(db, ticket_type.id)).sold == 0


async def test_availability_reports_not_on_sale_until_sales_start(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(
        event, quantity=5, sales_start=utcnow() + timedelta(days=1)
    )

    async with db.read() as session:
        later = await availability(session, now=utcnow(), ticket_type_ids=[ticket_type.id])
        on_sale = await availability(
            session, now=utcnow() + timedelta(days=2), ticket_type_ids=[ticket_type.id]
        )
        over = await availability(
            session, now=utcnow() + timedelta(days=60), ticket_type_ids=[ticket_type.id]
        )

    assert [r.status for r in later] == [SaleStatus.NOT_ON_SALE]
    assert [r.status for r in on_sale] == [SaleStatus.ON_SALE]
    assert [r.status for r in over] == [SaleStatus.ENDED]
    assert later[0].available == 5
