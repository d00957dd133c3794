"""eventAnalytics at scale: an event with N orders (200,000 by default), the full query
(totals, by ticket type, daily sales, hourly check-ins) timed through the API.

    .venv/bin/python bench/analytics.py --orders 200000 --runs 30

Orders are written straight into PostgreSQL with generate_series (creating them through
the API would take an hour and measure createOrder, not analytics): 80 % confirmed, 10 %
pending, 4 % expired, 2 % cancelled, 4 % refunded in full, and a partial refund on one
confirmed order in 20, spread over 60 days, one to four tickets each over two ticket types.

Beside the figure it prints its ceiling (1 s, the answer a dashboard must beat) and the
floor of the same run: one plain scan that sums the event's orders, which any read-time
answer pays at least."""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.checkin import setup
from bench.harness import Connection, embedded_server, machine, percentiles
from server.db import Database

CEILING_MS = 1000.0
ANALYTICS = """
query($e: ID!) { eventAnalytics(eventId: $e) {
  ordersConfirmed ordersPending ordersExpired ordersCancelled ordersRefunded ticketsSold
  checkedIn waitlisted sellThrough gross { amount } discounts { amount } fees { amount }
  refunds { amount } net { amount }
  byTicketType { sold reserved gross { amount } ticketType { id } }
  sales(interval: DAY) { at orders tickets gross { amount } refunds { amount } }
  checkIns(interval: HOUR) { at checkIns }
} }
"""
SEED = """
WITH o AS (
  INSERT INTO orders (id, organization_id, event_id, occurrence_id, buyer_email, status,
    currency, subtotal_minor, discount_minor, platform_fee_minor, provider_fee_minor,
    fees_minor, total_minor, refunded_minor, expires_at, confirmed_at, cancelled_at,
    cancel_reason, created_at, updated_at)
  SELECT gen_random_uuid(), :org, :event, :occurrence, 'buyer' || n || '@bench.test',
    CAST(CASE WHEN n % 50 < 40 THEN 'confirmed' WHEN n % 50 < 45 THEN 'pending'
         WHEN n % 50 < 48 THEN 'cancelled' ELSE 'refunded' END AS order_status),
    'USD', 2500 * (1 + n % 4), 0, 0, 0, 100, 2500 * (1 + n % 4) + 100,
    CASE WHEN n % 50 >= 48 THEN 2500 * (1 + n % 4) + 100 ELSE 0 END,
    now() + interval '15 minutes',
    CASE WHEN n % 50 < 40 OR n % 50 >= 48 THEN now() - (n % 60) * interval '1 day' END,
    CASE WHEN n % 50 BETWEEN 45 AND 47 THEN now() END,
    CASE WHEN n % 50 IN (45, 46) THEN 'expired' WHEN n % 50 = 47 THEN 'buyer' END,
    now() - (n % 60) * interval '1 day', now()
  FROM generate_series(1, :orders) AS n
  RETURNING id, status, subtotal_minor, total_minor, refunded_minor, confirmed_at
)
INSERT INTO order_items (id, order_id, ticket_type_id, inventory_id, quantity,
  unit_price_minor, subtotal_minor, seat_ids)
SELECT gen_random_uuid(), o.id, :type, :inventory, o.subtotal_minor / 2500, 2500,
  o.subtotal_minor, '{}'
FROM o
"""
REFUNDS = """
INSERT INTO refunds (id, order_id, amount_minor, currency, status, automatic, created_at,
  updated_at)
SELECT gen_random_uuid(), id, CASE WHEN status = 'refunded' THEN total_minor ELSE 500 END,
  'USD', 'succeeded', false, confirmed_at + interval '1 day', confirmed_at + interval '1 day'
FROM orders WHERE event_id = :event
  AND (status = 'refunded' OR (status = 'confirmed' AND abs(hashtext(id::text)) % 20 = 0))
"""
FLOOR = """
SELECT status, count(*), sum(subtotal_minor), sum(fees_minor) FROM orders
WHERE event_id = :event GROUP BY status
"""


async def seed(database_url: str, sale: dict[str, str], orders: int) -> None:
    db = Database(database_url, pool_size=2, max_overflow=0)
    try:
        async with db.transaction() as session:
            inventory = await session.scalar(
                text("SELECT id FROM inventory WHERE ticket_type_id = :t"),
                {"t": sale["ticket_type"]},
            )
            await session.execute(
                text(SEED),
                {
                    "org": sale["org"],
                    "event": sale["event"],
                    "occurrence": sale["occurrence"],
                    "type": sale["ticket_type"],
                    "inventory": inventory,
                    "orders": orders,
                },
            )
            await session.execute(text(REFUNDS), {"event": sale["event"]})
            await session.execute(
                text(
                    """
                    UPDATE inventory i SET
                      sold = (SELECT coalesce(sum(x.quantity), 0) FROM order_items x
                              JOIN orders o ON o.id = x.order_id
                              WHERE x.inventory_id = i.id AND o.status = 'confirmed'),
                      reserved = (SELECT coalesce(sum(x.quantity), 0) FROM order_items x
                              JOIN orders o ON o.id = x.order_id
                              WHERE x.inventory_id = i.id AND o.status = 'pending')
                    WHERE i.id = :id
                    """
                ),
                {"id": inventory},
            )
        async with db.engine.connect() as conn:
            autocommit = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE orders, order_items, refunds"))
    finally:
        await db.dispose()


async def floor_ms(database_url: str, event_id: str, runs: int) -> float:
    db = Database(database_url, pool_size=1, max_overflow=0)
    samples = []
    try:
        for _ in range(runs):
            async with db.read() as session:
                started = time.perf_counter()
                await session.execute(text(FLOOR), {"event": event_id})
                samples.append(time.perf_counter() - started)
    finally:
        await db.dispose()
    return percentiles(samples)["p50"] * 1000


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    print(f"machine before: {machine()}")
    with embedded_server(DB_POOL_SIZE="10") as server:
        conn = Connection.to(server.url)
        sale = await setup(conn, args.orders * 4 + 1)
        database_url = server.runtime()["database_url"]
        started = time.perf_counter()
        await seed(database_url, sale, args.orders)
        print(f"seeded {args.orders} orders in {time.perf_counter() - started:.1f} s")

        samples = []
        answer = None
        for _ in range(args.runs + 2):
            started = time.perf_counter()
            answer = await conn.graphql(ANALYTICS, {"e": sale["event"]}, sale["token"])
            samples.append(time.perf_counter() - started)
        conn.close()
        assert answer is not None and "errors" not in answer, answer
        floor = await floor_ms(database_url, sale["event"], args.runs)

    data = answer["data"]["eventAnalytics"]
    p = percentiles(samples[2:])  # the first two warm the caches
    print(
        f"answer: {data['ordersConfirmed']} confirmed, {data['ordersPending']} pending, "
        f"{data['ordersRefunded']} refunded, {data['ticketsSold']} tickets sold, "
        f"gross {data['gross']['amount']}, refunds {data['refunds']['amount']}, "
        f"{len(data['sales'])} daily points"
    )
    print(
        f"eventAnalytics over {args.orders} orders: p50 {p['p50'] * 1000:.0f} ms, "
        f"p95 {p['p95'] * 1000:.0f} ms (ceiling {CEILING_MS:.0f} ms; floor of this run, one "
        f"scan summing the orders: {floor:.0f} ms)"
    )
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    asyncio.run(main())
