"""Orders built directly in the database (the order API has its own tests), on catalog
rows created through the API, so ticket issuance can be tested on its own."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlalchemy import select

from server.clock import utcnow
from server.db import Database
from server.ids import new_id
from server.orders.models import Order, OrderItem, OrderStatus
from server.ticketing.models import Inventory
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient


@dataclass
class Shop:
    db: Database
    sale: commerce.Sale
    buyer: factories.TestUser

    @property
    def organization_id(self) -> uuid.UUID:
        return uuid.UUID(self.sale.org.id)

    async def order(
        self, quantities: list[int], *, seat_ids: list[list[uuid.UUID]] | None = None
    ) -> tuple[Order, list[OrderItem]]:
        """A confirmed order of the sale's first ticket type, one item per quantity."""
        ticket_type_id = uuid.UUID(self.sale.ticket_type_id)
        occurrence_id = uuid.UUID(self.sale.occurrence_ids[0])
        async with self.db.transaction() as session:
            inventory_id = await session.scalar(
                select(Inventory.id).where(
                    Inventory.ticket_type_id == ticket_type_id,
                    Inventory.occurrence_id == occurrence_id,
                )
            )
            assert inventory_id is not None
            total = 1000 * sum(quantities)
            order = Order(
                id=new_id(),
                organization_id=self.organization_id,
                event_id=uuid.UUID(self.sale.event_id),
                occurrence_id=occurrence_id,
                buyer_user_id=uuid.UUID(self.buyer.id),
                buyer_email=self.buyer.email,
                status=OrderStatus.CONFIRMED,
                currency="USD",
                subtotal_minor=total,
                discount_minor=0,
                platform_fee_minor=0,
                provider_fee_minor=0,
                fees_minor=0,
                total_minor=total,
                confirmed_at=utcnow() - timedelta(seconds=1),
            )
            session.add(order)
            await session.flush()
            items = [
                OrderItem(
                    id=new_id(),
                    order_id=order.id,
                    ticket_type_id=ticket_type_id,
                    inventory_id=inventory_id,
                    quantity=quantity,
                    unit_price_minor=1000,
                    subtotal_minor=1000 * quantity,
                    seat_ids=(seat_ids or [[]] * len(quantities))[n],
                )
                for n, quantity in enumerate(quantities)
            ]
            session.add_all(items)
        return order, items


@pytest.fixture
async def shop(gql: GraphQLClient, db: Database) -> Shop:
    sale = await commerce.sale(gql, quantity=100)
    return Shop(db, sale, await factories.register(gql))
