"""issue_tickets and cancel_tickets_for_order, the seams the order lifecycle calls."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from server.clock import utcnow
from server.config import Settings
from server.db import Database
from server.tickets import qr
from server.tickets.models import Ticket, TicketStatus, TicketTransfer, TransferStatus
from server.tickets.service import cancel_tickets_for_order, issue_tickets
from tests.schema.tickets.helpers import seated_sale
from tests.server.tickets.conftest import Shop
from tests.support import factories
from tests.support.gql import GraphQLClient


async def _count(db: Database, order_id: uuid.UUID) -> int:
    async with db.read() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Ticket).where(Ticket.order_id == order_id)
            )
            or 0
        )


async def test_one_valid_ticket_per_admission_held_by_the_buyer(
    shop: Shop, settings: Settings
) -> None:
    order, items = await shop.order([2, 3])

    async with shop.db.transaction() as session:
        tickets = await issue_tickets(session, order=order, items=items, now=utcnow())

    assert len(tickets) == 5
    assert [(t.order_item_id, t.position) for t in tickets] == [
        (items[0].id, 0),
        (items[0].id, 1),
        (items[1].id, 0),
        (items[1].id, 1),
        (items[1].id, 2),
    ]
    assert {t.status for t in tickets} == {TicketStatus.VALID}
    assert {(t.holder_user_id, t.holder_email) for t in tickets} == {
        (uuid.UUID(shop.buyer.id), shop.buyer.email)
    }
    assert {t.occurrence_id for t in tickets} == {order.occurrence_id}
    assert len({t.qr_payload for t in tickets}) == 5
    assert len({t.serial for t in tickets}) == 5
    for ticket in tickets:
        claims = qr.verify_issued(ticket.qr_payload, signing_key=settings.ticket_signing_key)
        assert (claims.ticket_id, claims.event_id, claims.occurrence_id, claims.serial) == (
            ticket.id,
            order.event_id,
            order.occurrence_id,
            ticket.serial,
        )
    assert await _count(shop.db, order.id) == 5


async def test_issuing_twice_returns_the_same_tickets_and_issues_nothing_more(
    shop: Shop,
) -> None:
    order, items = await shop.order([2])
    async with shop.db.transaction() as session:
        first = await issue_tickets(session, order=order, items=items, now=utcnow())

    async with shop.db.transaction() as session:
        second = await issue_tickets(session, order=order, items=items, now=utcnow())

    assert [t.id for t in second] == [t.id for t in first]
    assert await _count(shop.db, order.id) == 2


async def test_seated_items_get_one_ticket_per_seat(gql: GraphQLClient, db: Database) -> None:
    sale, seat_ids = await seated_sale(gql, seats=4)
    shop = Shop(db, sale, await factories.register(gql))
    chosen = [uuid.UUID(s) for s in seat_ids[1:3]]
    order, items = await shop.order([2], seat_ids=[chosen])

    async with db.transaction() as session:
        tickets = await issue_tickets(session, order=order, items=items, now=utcnow())

    assert [t.event_seat_id for t in tickets] == chosen


async def test_an_item_of_another_order_is_refused(shop: Shop) -> None:
    order, _ = await shop.order([1])
    _, others = await shop.order([1])

    with pytest.raises(ValueError, match="another order"):
        async with shop.db.transaction() as session:
            await issue_tickets(session, order=order, items=others, now=utcnow())

    assert await _count(shop.db, order.id) == 0


async def test_cancelling_an_orders_tickets_spares_used_ones_and_withdraws_transfers(
    shop: Shop,
) -> None:
    order, items = await shop.order([3])
    other, other_items = await shop.order([1])
    async with shop.db.transaction() as session:
        tickets = await issue_tickets(session, order=order, items=items, now=utcnow())
        untouched = await issue_tickets(session, order=other, items=other_items, now=utcnow())
        tickets[0].status = TicketStatus.USED
        session.add(
            TicketTransfer(
                ticket_id=tickets[1].id,
                organization_id=order.organization_id,
                from_user_id=order.buyer_user_id,
                recipient_email="friend@example.com",
                token_hash="0" * 64,
                expires_at=utcnow(),
            )
        )

    async with shop.db.transaction() as session:
        cancelled = await cancel_tickets_for_order(session, order_id=order.id, now=utcnow())
    async with shop.db.transaction() as session:
        again = await cancel_tickets_for_order(session, order_id=order.id, now=utcnow())

    assert (cancelled, again) == (2, 0)
    async with shop.db.read() as session:
        statuses = dict((await session.execute(select(Ticket.id, Ticket.status))).all())
        transfer = await session.scalar(select(TicketTransfer.status))
    assert [statuses[t.id] for t in tickets] == [
        TicketStatus.USED,
        TicketStatus.CANCELLED,
        TicketStatus.CANCELLED,
    ]
    assert statuses[untouched[0].id] is TicketStatus.VALID
    assert transfer is TransferStatus.CANCELLED
