"""eventAnalytics at scale: an event with N orders (200,000 by default) shaped like a real
sale (bench/analytics_data.py: four ticket types, two dates, four weeks of sales, refunds,
check-ins at the gate), among other events' orders; the dashboard's full query (totals,
by ticket type, daily and hourly sales, check-ins by the hour) timed through the API.

    .venv/bin/python bench/analytics.py [--orders 200000] [--other-orders 100000] [--runs 50]

It measures, in order, against `eventapi serve` on the embedded default:
- the first read, before the event has any rollup (everything read live), which asks the
  worker for a fold; then how soon the fold was in;
- the query once the rollup is kept: p50 / p95 / p99 over --runs;
- the subscription: time from subscribing to the first snapshot, p50 / p95;
- beside them, the reference of the same run and machine: a bare `count(*)` of the
  event's orders through asyncpg (index-only), the least any read-time answer pays,
  and a trivial authenticated GraphQL query (the API's own floor);
- the machine's load average beside each figure (they are DB-bound: on a loaded machine
  read them against the reference, not as absolutes).
The answer after the fold must equal the first (live) one: it is checked and printed."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import analytics_data as data
from bench.harness import Connection, embedded_server, machine, percentiles

TARGET_MS = 1000.0  # "well under a second"
ANALYTICS = """
query($e: ID!) { eventAnalytics(eventId: $e) {
  ordersConfirmed ordersPending ordersExpired ordersCancelled ordersRefunded ticketsSold
  checkedIn waitlisted sellThrough gross { amount } discounts { amount } fees { amount }
  refunds { amount } net { amount }
  byTicketType { sold reserved gross { amount } ticketType { id name } }
  daily: sales(interval: DAY) { at orders tickets gross { amount } refunds { amount } }
  hourly: sales(interval: HOUR) { at orders tickets gross { amount } refunds { amount } }
  checkIns(interval: HOUR) { at checkIns }
} }
"""
SUBSCRIBE = ANALYTICS.replace("query(", "subscription(", 1)
TRIVIAL = "query { me { id } }"
COUNT = "SELECT count(*) FROM orders WHERE event_id = $1"
# What never changes once it has happened (pending orders expire during the run).
SETTLED = ("gross", "discounts", "fees", "refunds", "checkedIn", "daily", "hourly", "checkIns")


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} / {five:.2f}"


async def timed(conn: Connection, query: str, variables: dict[str, Any], token: str) -> float:
    started = time.perf_counter()
    answer = await conn.graphql(query, variables, token)
    elapsed = time.perf_counter() - started
    assert "errors" not in answer, answer
    return elapsed


async def wait_for_fold(pg: asyncpg.Connection, event_id: str, timeout: float = 600) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if await pg.fetchval("SELECT 1 FROM analytics_marks WHERE event_id = $1", event_id):
            return time.perf_counter() - started
        await asyncio.sleep(0.1)
    raise RuntimeError("the worker did not fold the event")


async def first_snapshot(url: str, token: str, event_id: str) -> float:
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as socket:  # type: ignore[list-item]
        await socket.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        started = time.perf_counter()
        await socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"e": event_id}},
                }
            )
        )
        message = json.loads(await socket.recv())
        elapsed = time.perf_counter() - started
        assert message["type"] == "next" and "errors" not in message["payload"], message
        return elapsed


async def signed_in(url: str) -> tuple[Connection, str]:
    """A new keep-alive connection and a fresh token for the owner."""
    conn = Connection.to(url)
    return conn, await data.sign_in(conn)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


def spread(samples: list[float]) -> str:
    p = percentiles(samples)
    return f"p50 {ms(p['p50'])}, p95 {ms(p['p95'])}, p99 {ms(p['p99'])}"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--other-orders", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--subscriptions", type=int, default=10)
    args = parser.parse_args()

    print(f"machine before: {machine()}")
    with embedded_server(DB_POOL_SIZE="10") as server:
        conn = Connection.to(server.url)
        sale = await data.setup(conn)
        other = await data.create_event(conn, sale["token"], sale["org"], "Other Night")
        database_url = server.runtime()["database_url"]
        started = time.perf_counter()
        if args.other_orders:
            await data.seed(database_url, sale["org"], other, args.other_orders, "other.test")
        await data.seed(database_url, sale["org"], sale, args.orders, "bench.test")
        await data.vacuum(database_url)
        print(
            f"seeded {args.orders} orders (+{args.other_orders} of another event) in "
            f"{time.perf_counter() - started:.0f} s; {load()}"
        )
        conn.close()  # idle through the seeding: the server has dropped it
        conn, token = await signed_in(server.url)
        event = sale["event"]
        pg = await asyncpg.connect(database_url.replace("postgresql+asyncpg", "postgresql"))
        try:
            started = time.perf_counter()
            first = await conn.graphql(ANALYTICS, {"e": event}, token)  # asks for a fold
            cold = time.perf_counter() - started
            print(f"first read, before any rollup (everything live): {ms(cold)}; {load()}")
            folded = await wait_for_fold(pg, event)
            print(f"the worker's first fold of the event was in {folded:.1f} s later; {load()}")
            conn.close()  # idle while the worker folded; a token may have expired too
            conn, token = await signed_in(server.url)

            samples = [
                await timed(conn, ANALYTICS, {"e": event}, token) for _ in range(args.runs + 3)
            ]
            query_load = load()
            answer = await conn.graphql(ANALYTICS, {"e": event}, token)
            subscribed = [
                await first_snapshot(server.url, token, event) for _ in range(args.subscriptions)
            ]
            subscription_load = load()
            conn.close()  # may have idled past the server's keep-alive meanwhile
            conn = Connection.to(server.url)
            trivial = [await timed(conn, TRIVIAL, {}, token) for _ in range(args.runs)]
            counts = []
            for _ in range(args.runs):
                started = time.perf_counter()
                await pg.fetchval(COUNT, event)
                counts.append(time.perf_counter() - started)
            reference_load = load()
            mark = await pg.fetchval(
                "SELECT now() - folded_before FROM analytics_marks WHERE event_id = $1", event
            )
        finally:
            await pg.close()
            conn.close()

    settled = all(
        first["data"]["eventAnalytics"][k] == answer["data"]["eventAnalytics"][k] for k in SETTLED
    )
    found = answer["data"]["eventAnalytics"]
    print(
        f"answer: {found['ordersConfirmed']} confirmed, {found['ordersRefunded']} refunded, "
        f"{found['ordersExpired']} expired, {found['ticketsSold']} tickets sold, "
        f"{found['checkedIn']} checked in, gross {found['gross']['amount']}, refunds "
        f"{found['refunds']['amount']}, {len(found['daily'])} days, {len(found['hourly'])} hours; "
        f"same settled numbers as the live read: {'yes' if settled else 'NO'}; "
        f"rollup mark {mark} behind"
    )
    print(
        f"eventAnalytics over {args.orders} orders, rollup kept: {spread(samples[3:])} "
        f"(target: well under {TARGET_MS:.0f} ms); {query_load}"
    )
    print(f"eventAnalytics subscription, first snapshot: {spread(subscribed)}; {subscription_load}")
    print(
        f"same run, reference: count(*) of the event's orders via asyncpg {spread(counts)}; "
        f"trivial signed-in GraphQL query {spread(trivial)}; {reference_load}"
    )
    print(f"machine after: {machine()}")
    if not settled:
        raise SystemExit("the answer changed after the fold")


if __name__ == "__main__":
    asyncio.run(main())
