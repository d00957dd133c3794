"""eventAnalytics through the API, a sale with every kind of fact, and the answer computed
from the tables alone (no rollup), shared by the analytics tests."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
from sqlalchemy import text

from server.analytics.figures import Figures, Window
from server.analytics.rollup import Folded, fold
from server.analytics.service import Scope, read_analytics, snapshot
from server.db import Database
from server.events.models import Event
from tests.schema.tickets.helpers import check_in, my_tickets
from tests.support import commerce, factories
from tests.support.gql import GraphQLClient

FIELDS = """
  ordersConfirmed ordersPending ordersExpired ordersCancelled ordersRefunded
  ticketsSold ticketsReserved checkedIn waitlisted sellThrough
  gross { amount currency } discounts { amount } fees { amount } refunds { amount } net { amount }
  byTicketType { ticketType { id } sold reserved gross { amount } }
"""
SERIES = """
  daily: sales(interval: DAY) { at orders tickets gross { amount } refunds { amount } }
  hourly: sales(interval: HOUR) { at orders tickets gross { amount } refunds { amount } }
  checkIns(interval: HOUR) { at checkIns }
"""
ANALYTICS = f"""
query($e: ID!, $o: ID) {{ eventAnalytics(eventId: $e, occurrenceId: $o) {{
  event {{ id }} {FIELDS} {SERIES}
}} }}
"""
REFUND = """
mutation($input: RefundOrderInput!) { refundOrder(input: $input) { errors { code } } }
"""
NO_MARGIN = timedelta(0)


def cents(amount: str) -> int:
    return int(Decimal(amount) * 100)


@dataclass
class BusySale:
    sale: commerce.Sale
    buyer: factories.TestUser
    paid: list[dict[str, Any]]  # orders, as createOrder answered

    @property
    def owner(self) -> str:
        return self.sale.org.owner.token


async def analytics(
    gql: GraphQLClient,
    sale: commerce.Sale,
    occurrence_id: str | None = None,
    *,
    query: str = ANALYTICS,
) -> dict[str, Any]:
    data = await gql(query, {"e": sale.event_id, "o": occurrence_id}, token=sale.org.owner.token)
    return dict(data["eventAnalytics"])


async def pay(
    gql: GraphQLClient,
    http: httpx.AsyncClient,
    sale: commerce.Sale,
    buyer: factories.TestUser,
    quantity: int = 1,
    **extra: Any,
) -> dict[str, Any]:
    placed = await commerce.order(gql, sale, quantity, token=buyer.token, **extra)
    assert placed["errors"] == [], placed["errors"]
    await commerce.pay_with_test(gql, http, placed["order"]["id"], token=buyer.token)
    return dict(placed["order"])


async def refund(gql: GraphQLClient, sale: commerce.Sale, order_id: str, cents: int | None) -> None:
    body: dict[str, Any] = {"orderId": order_id}
    if cents is not None:
        body["amount"] = {"amount": f"{cents / 100:.2f}", "currency": "USD"}
    data = await gql(REFUND, {"input": body}, token=sale.org.owner.token)
    assert data["refundOrder"]["errors"] == [], data["refundOrder"]["errors"]


async def busy_sale(gql: GraphQLClient, http: httpx.AsyncClient) -> BusySale:
    """Two dates, two ticket types; paid orders on both dates and types, a partial and a
    full refund, a pending and a cancelled order, and a check-in."""
    sale = await commerce.sale(gql, quantity=20, price="25.00", dates=2)
    await commerce.add_ticket_type(gql, sale, quantity=5, price="80.00")
    buyer = await factories.register(gql)
    dates = sale.occurrence_ids
    paid = [
        await pay(gql, http, sale, buyer, 2, occurrenceId=dates[0]),
        await pay(gql, http, sale, buyer, 1, occurrenceId=dates[1]),
        await pay(
            gql, http, sale, buyer, 1, occurrenceId=dates[0], ticket_type_id=sale.ticket_type_ids[1]
        ),
        await pay(gql, http, sale, buyer, 1, occurrenceId=dates[1]),
    ]
    await refund(gql, sale, paid[1]["id"], 1000)
    await refund(gql, sale, paid[3]["id"], None)
    assert (await commerce.order(gql, sale, 1, occurrenceId=dates[0]))["errors"] == []
    cancelled = await commerce.order(gql, sale, 1, occurrenceId=dates[1])
    await gql(
        "mutation($id: ID!) { cancelOrder(id: $id) { errors { code } } }",
        {"id": cancelled["order"]["id"]},
    )
    first = next(t for t in await my_tickets(gql, buyer) if t["event"]["id"] == sale.event_id)
    assert (await check_in(gql, first["qrCode"], token=sale.org.owner.token))["errors"] == []
    return BusySale(sale, buyer, paid)


async def fold_now(db: Database, event_id: str) -> Folded | None:
    """Fold everything settled up to this moment (no margin for late transactions: the
    test knows none is open, or opens one on purpose)."""
    async with db.transaction() as session:
        return await fold(session, uuid.UUID(event_id), margin=NO_MARGIN, slack=NO_MARGIN)


async def figures(
    db: Database, event_id: str, *, window: Window | None = None, rollup: bool = True
) -> Figures:
    """The event's figures as a read computes them; with `rollup=False`, from the tables
    alone (the rollup is hidden inside a transaction that rolls back)."""
    async with db.read() as session:
        if rollup:
            await snapshot(session)
        else:
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            for table in ("analytics_marks", "analytics_hours", "analytics_type_hours"):
                await session.execute(
                    text(f"DELETE FROM {table} WHERE event_id = :e"),  # noqa: S608
                    {"e": event_id},
                )
        event = await session.get(Event, uuid.UUID(event_id))
        assert event is not None
        found = await read_analytics(session, Scope(event, None), window=window)
        await session.rollback()
    return found


async def rollup_rows(db: Database, event_id: str) -> list[tuple[Any, ...]]:
    async with db.read() as session:
        hours = await session.execute(
            text("SELECT * FROM analytics_hours WHERE event_id = :e ORDER BY 2, 3"), {"e": event_id}
        )
        types = await session.execute(
            text("SELECT * FROM analytics_type_hours WHERE event_id = :e ORDER BY 2, 3, 4"),
            {"e": event_id},
        )
        return [tuple(r) for r in hours] + [tuple(r) for r in types]
