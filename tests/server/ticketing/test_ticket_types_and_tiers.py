from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from server.clock import utcnow
from server.db import Database
from server.errors import DomainError, DomainErrors
from server.ticketing import inventory, pricing, service
from server.ticketing.models import Inventory, PriceTier, TicketType
from tests.server.ticketing.conftest import Catalog


def _codes(error: DomainError | DomainErrors) -> list[tuple[str, list[str] | None]]:
    errors = error.errors if isinstance(error, DomainErrors) else [error]
    return [(e.code.value, e.field) for e in errors]


async def _tier(
    catalog: Catalog, ticket_type: TicketType, name: str, price: str, **window: object
) -> None:
    async with catalog.db.transaction() as session:
        await service.create_price_tier(
            session,
            actor=catalog.manager,
            ticket_type_id=ticket_type.id,
            name=name,
            price=service.PriceInput(Decimal(price), ticket_type.currency),
            starts_at=window.get("starts_at"),  # type: ignore[arg-type]
            ends_at=window.get("ends_at"),  # type: ignore[arg-type]
            max_quantity=window.get("max_quantity"),  # type: ignore[arg-type]
        )


async def _tiers(db: Database, ticket_type: TicketType) -> list[PriceTier]:
    async with db.read() as session:
        return list(
            (
                await session.scalars(
                    select(PriceTier)
                    .where(PriceTier.ticket_type_id == ticket_type.id)
                    .order_by(PriceTier.starts_at.asc().nulls_first())
                )
            ).all()
        )


async def test_bad_ticket_type_input_reports_every_field_and_creates_nothing(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()

    with pytest.raises(DomainErrors) as error:
        async with db.transaction() as session:
            await service.create_ticket_type(
                session,
                actor=catalog.manager,
                event_id=event.id,
                name="",
                price=service.PriceInput(Decimal("10.001"), "USD"),
                quantity=0,
                min_per_order=3,
                max_per_order=2,
                sales_start=utcnow() + timedelta(days=90),
            )

    assert sorted(_codes(error.value), key=str) == sorted(
        [
            ("VALIDATION", ["name"]),
            ("VALIDATION", ["quantity"]),
            ("VALIDATION", ["maxPerOrder"]),
            ("VALIDATION", ["price", "amount"]),
            ("VALIDATION", ["salesStart"]),
        ],
        key=str,
    )
    async with db.read() as session:
        assert (await session.scalars(select(TicketType))).all() == []


async def test_unknown_currency_and_a_second_currency_are_refused(catalog: Catalog) -> None:
    event, _ = await catalog.event()
    with pytest.raises(DomainError) as unknown:
        await catalog.ticket_type(event, currency="XYZ")
    await catalog.ticket_type(event, currency="NGN")
    with pytest.raises(DomainError) as mixed:
        await catalog.ticket_type(event, currency="USD")

    assert _codes(unknown.value) == [("VALIDATION", ["price", "currency"])]
    assert "NGN" in mixed.value.message


async def test_quantity_cannot_drop_below_what_is_sold_reserved_and_held(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event(dates=2)
    ticket_type = await catalog.ticket_type(event, quantity=10)
    async with db.read() as session:
        rows = (
            await session.scalars(
                select(Inventory).where(Inventory.ticket_type_id == ticket_type.id)
            )
        ).all()
    async with db.transaction() as session:
        await inventory.take(
            session, [inventory.Claim(rows[1].id, 6)], counter="reserved", now=utcnow()
        )

    with pytest.raises(DomainError) as error:
        async with db.transaction() as session:
            await service.update_ticket_type(
                session, actor=catalog.manager, ticket_type_id=ticket_type.id, quantity=5
            )
    async with db.transaction() as session:
        await service.update_ticket_type(
            session, actor=catalog.manager, ticket_type_id=ticket_type.id, quantity=6
        )

    assert _codes(error.value) == [("VALIDATION", ["quantity"])]
    assert "6" in error.value.message
    async with db.read() as session:
        quantities = (
            await session.scalars(
                select(Inventory.quantity).where(Inventory.ticket_type_id == ticket_type.id)
            )
        ).all()
    assert quantities == [6, 6]


async def test_time_tiers_choose_the_price_in_force(catalog: Catalog, db: Database) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, price="80.00")
    now = utcnow()
    await _tier(catalog, ticket_type, "Early bird", "50.00", ends_at=now + timedelta(days=7))
    await _tier(
        catalog,
        ticket_type,
        "Regular",
        "65.00",
        starts_at=now + timedelta(days=7),
        ends_at=now + timedelta(days=20),
    )

    tiers = await _tiers(db, ticket_type)

    assert pricing.current_price(ticket_type, tiers, now) == 5000
    assert pricing.current_price(ticket_type, tiers, now + timedelta(days=8)) == 6500
    assert (
        pricing.current_price(ticket_type, tiers, now + timedelta(days=21)) == 8000
    )  # late: base price
    assert pricing.current_tier(tiers, now + timedelta(days=21)) is None


async def test_overlapping_tier_windows_are_refused(catalog: Catalog, db: Database) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event)
    now = utcnow()
    await _tier(catalog, ticket_type, "Early", "40.00", ends_at=now + timedelta(days=7))

    with pytest.raises(DomainError) as error:
        await _tier(catalog, ticket_type, "Overlap", "45.00", starts_at=now + timedelta(days=6))

    assert _codes(error.value) == [("VALIDATION", ["startsAt"])]
    assert len(await _tiers(db, ticket_type)) == 1


async def test_a_quantity_tier_sells_its_last_units_and_the_rest_at_base_price(
    catalog: Catalog, db: Database
) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, price="80.00")
    await _tier(catalog, ticket_type, "First 5", "30.00", max_quantity=5)

    async def take(quantity: int) -> list[pricing.PriceLine]:
        async with db.transaction() as session:
            ledger = await pricing.TierLedger.lock(session, [ticket_type.id])
            lines = ledger.price(
                ticket_type.id, base_price=ticket_type.price_minor, quantity=quantity, now=utcnow()
            )
            await ledger.apply(session)
        return lines

    first = await take(3)
    second = await take(4)
    tiers = await _tiers(db, ticket_type)

    assert [(line.unit_price, line.quantity) for line in first] == [(3000, 3)]
    assert [(line.unit_price, line.quantity) for line in second] == [(3000, 2), (8000, 2)]
    assert tiers[0].allocated == 5
    assert pricing.current_price(ticket_type, tiers, utcnow()) == 8000


async def test_tier_currency_must_match_the_ticket_type(catalog: Catalog) -> None:
    event, _ = await catalog.event()
    ticket_type = await catalog.ticket_type(event, currency="USD")

    with pytest.raises(DomainError) as error:
        async with catalog.db.transaction() as session:
            await service.create_price_tier(
                session,
                actor=catalog.manager,
                ticket_type_id=ticket_type.id,
                name="Euro",
                price=service.PriceInput(Decimal("10"), "EUR"),
                starts_at=None,
                ends_at=None,
                max_quantity=None,
            )

    assert _codes(error.value) == [("VALIDATION", ["price", "currency"])]
