"""eventAnalytics agrees with hand-computed sums over orders, refunds (partial and full),
check-ins and the waitlist; only members read it; the subscription follows changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import text

from server.app_state import AppState
from server.clock import utcnow
from server.orders import lifecycle
from tests.schema.tickets.helpers import check_in, my_tickets
from tests.support import commerce, factories
from tests.support.analytics import REFUND, busy_sale, cents
from tests.support.gql import GraphQLClient
from tests.support.waitlist import join

ANALYTICS = """
query($e: ID!, $o: ID) { eventAnalytics(eventId: $e, occurrenceId: $o) {
  event { id } ordersConfirmed ordersPending ordersExpired ordersCancelled ordersRefunded
  ticketsSold checkedIn waitlisted sellThrough
  gross { amount currency } discounts { amount } fees { amount } refunds { amount } net { amount }
  byTicketType { ticketType { id } sold reserved gross { amount } }
  sales(interval: DAY) { orders tickets gross { amount } refunds { amount } }
  checkIns(interval: HOUR) { checkIns }
} }
"""
BY_MINUTE = """
query($e: ID!, $every: AnalyticsInterval, $from: DateTime) {
  eventAnalytics(eventId: $e) { ordersConfirmed checkedIn ...series
    later: sales(interval: MINUTE, from: "2999-01-01T00:00:00Z") { orders }
    days: sales(interval: DAY) { orders } }
}
fragment series on EventAnalytics {
  minutes: sales(interval: $every, from: $from) { at orders tickets gross { amount } }
  ... on EventAnalytics { checkIns(interval: MINUTE) { at checkIns } }
  laterCheckIns: checkIns(interval: MINUTE, from: "2999-01-01T00:00:00Z") { checkIns }
  hourCheckIns: checkIns(interval: HOUR, from: $from) { checkIns }
  noCheckIns: checkIns(interval: HOUR, to: $from) { checkIns }
}
"""


async def test_the_numbers_agree_with_hand_computed_sums(
    gql: GraphQLClient, client: httpx.AsyncClient, state: AppState
) -> None:
    sale = await commerce.sale(gql, quantity=10, price="25.00")
    vip = await commerce.add_ticket_type(gql, sale, quantity=1, price="80.00", waitlistEnabled=True)
    buyer = await factories.register(gql)
    owner = sale.org.owner.token

    paid = []
    for quantity in (2, 1, 1):
        placed = await commerce.order(gql, sale, quantity, token=buyer.token)
        await commerce.pay_with_test(gql, client, placed["order"]["id"], token=buyer.token)
        paid.append(placed["order"])
    partial, full = paid[1]["id"], paid[2]["id"]
    await gql(
        REFUND,
        {"input": {"orderId": partial, "amount": {"amount": "10.00", "currency": "USD"}}},
        token=owner,
    )
    await gql(REFUND, {"input": {"orderId": full}}, token=owner)
    assert (await commerce.order(gql, sale, 1))["errors"] == []
    cancelled = await commerce.order(gql, sale, 1)
    await gql(
        "mutation($id: ID!) { cancelOrder(id: $id) { errors { code } } }",
        {"id": cancelled["order"]["id"]},
    )
    expired = await commerce.order(gql, sale, 1)
    async with state.db.transaction() as session:
        await session.execute(
            text("UPDATE orders SET expires_at = now() - interval '1 second' WHERE id = :id"),
            {"id": expired["order"]["id"]},
        )
        assert await lifecycle.expire_due(session, now=utcnow()) == 1
    await commerce.order(gql, sale, 1, ticket_type_id=vip)  # pending: VIP sold out
    assert (await join(gql, sale, email="wait@example.com", ticket_type_id=vip))["errors"] == []
    [first, *_] = await my_tickets(gql, buyer)
    assert (await check_in(gql, first["qrCode"], token=owner))["errors"] == []

    data = (await gql(ANALYTICS, {"e": sale.event_id}, token=owner))["eventAnalytics"]

    fees = sum(cents(o["fees"]["amount"]) for o in paid)
    totals = [cents(o["total"]["amount"]) for o in paid]
    refunds = 1000 + totals[2]
    assert data["event"]["id"] == sale.event_id
    assert (
        data["ordersConfirmed"],
        data["ordersPending"],
        data["ordersExpired"],
        data["ordersCancelled"],
        data["ordersRefunded"],
    ) == (2, 2, 1, 1, 1)
    assert data["ticketsSold"] == 3  # 2 + 1; the fully refunded ticket went back
    assert (data["checkedIn"], data["waitlisted"]) == (1, 1)
    assert cents(data["gross"]["amount"]) == 4 * 2500
    assert data["gross"]["currency"] == "USD"
    assert cents(data["discounts"]["amount"]) == 0
    assert cents(data["fees"]["amount"]) == fees
    assert cents(data["refunds"]["amount"]) == refunds
    assert cents(data["net"]["amount"]) == sum(totals) - refunds
    assert data["sellThrough"] == 3 / 11
    by_type = {row["ticketType"]["id"]: row for row in data["byTicketType"]}
    assert (by_type[sale.ticket_type_id]["sold"], by_type[sale.ticket_type_id]["reserved"]) == (
        3,
        1,
    )
    assert cents(by_type[sale.ticket_type_id]["gross"]["amount"]) == 4 * 2500
    assert (by_type[vip]["sold"], by_type[vip]["reserved"], by_type[vip]["gross"]["amount"]) == (
        0,
        1,
        "0.00",
    )
    [today] = data["sales"]
    assert (today["orders"], today["tickets"]) == (3, 4)
    assert cents(today["gross"]["amount"]) == 4 * 2500
    assert cents(today["refunds"]["amount"]) == refunds
    assert [p["checkIns"] for p in data["checkIns"]] == [1]

    # The payments table tells the same story: collected less refunded is net.
    async with state.db.read() as session:
        collected = await session.scalar(
            text(
                "SELECT sum(p.amount_minor) FROM payments p JOIN orders o ON o.id = p.order_id "
                "WHERE o.event_id = :e AND p.succeeded_at IS NOT NULL"
            ),
            {"e": sale.event_id},
        )
    assert collected - refunds == cents(data["net"]["amount"])

    one_date = await gql(ANALYTICS, {"e": sale.event_id, "o": sale.occurrence_ids[0]}, token=owner)
    assert one_date["eventAnalytics"]["ordersConfirmed"] == 2


async def test_only_the_organizations_members_read_analytics(gql: GraphQLClient) -> None:
    cast = await factories.cast(gql)
    sale = await commerce.sale(gql, cast.org, quantity=5)
    for member in (cast.owner, cast.manager, cast.staff):
        data = await gql(ANALYTICS, {"e": sale.event_id}, token=member.token)
        assert data["eventAnalytics"]["ordersPending"] == 0
    for caller, code in ((cast.outsider.token, "NOT_FOUND"), (None, "UNAUTHENTICATED")):
        real = await gql.errors(ANALYTICS, {"e": sale.event_id}, token=caller)
        random = await gql.errors(ANALYTICS, {"e": str(uuid.uuid4())}, token=caller)
        assert real[0]["extensions"]["code"] == random[0]["extensions"]["code"] == code
        assert real[0]["message"] == random[0]["message"]
    other_date = await gql.errors(
        ANALYTICS, {"e": sale.event_id, "o": str(uuid.uuid4())}, token=cast.owner.token
    )
    assert other_date[0]["extensions"]["code"] == "NOT_FOUND"


async def test_series_by_the_minute_follow_fragments_aliases_and_variables(
    gql: GraphQLClient, client: httpx.AsyncClient
) -> None:
    busy = await busy_sale(gql, client)
    started = datetime.now(UTC) - timedelta(hours=1)
    data = (
        await gql(
            BY_MINUTE,
            {"e": busy.sale.event_id, "every": "MINUTE", "from": started.isoformat()},
            token=busy.owner,
        )
    )["eventAnalytics"]
    minutes, days = data["minutes"], data["days"]
    assert all(p["at"].endswith(":00+00:00") for p in minutes)
    assert sum(p["orders"] for p in minutes) == sum(p["orders"] for p in days) == 4
    assert sum(p["tickets"] for p in minutes) == 5
    assert sum(cents(p["gross"]["amount"]) for p in minutes) == 3 * 2500 + 2500 + 8000
    assert sum(p["checkIns"] for p in data["checkIns"]) == data["checkedIn"] == 1
    assert data["later"] == [] == data["laterCheckIns"] == data["noCheckIns"]
    assert data["hourCheckIns"] == [{"checkIns": 1}]
