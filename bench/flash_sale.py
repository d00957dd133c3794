"""Flash sale: 20,000 buyers race for 10,000 tickets of one ticket type, 200 in flight.

Each buyer runs `createOrder` (guest checkout, one ticket) and, when it got one,
`createPayment` with the TEST provider, over keep-alive HTTP against `eventapi serve` on
the embedded default. Prints tickets sold (must be 10,000) and oversold (must be 0, checked
in the database), orders per second, p50/p95/p99 latency per buyer, the server's CPU
milliseconds per order (and PostgreSQL's), peak server memory, and in the same run the raw
ceiling: 10,000 single-row conditional decrements through asyncpg with 64 tasks.

    .venv/bin/python bench/flash_sale.py [--buyers 20000] [--tickets 10000] [--concurrency 200]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    Connection,
    Sampler,
    add_workers_option,
    cpu_seconds,
    embedded_server,
    machine,
    percentiles,
)

SIGN_UP = (
    """mutation($i: RegisterInput!) { register(input: $i) { accessToken errors { message } } }"""
)
ORG = """mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } errors { message } } }"""
EVENT = """mutation($i: CreateEventInput!) { createEvent(input: $i) { event { id } errors { message } } }"""
TYPE = """mutation($i: CreateTicketTypeInput!) { createTicketType(input: $i) { ticketType { id } errors { message } } }"""
PUBLISH = """mutation($id: ID!) { publishEvent(id: $id) { errors { message } } }"""
ORDER = """mutation Buy($i: CreateOrderInput!) { createOrder(input: $i) { order { id } errors { code } } }"""
PAY = """mutation Pay($i: CreatePaymentInput!) { createPayment(input: $i) { payment { id clientSecret } errors { code } } }"""


async def setup(conn: Connection, tickets: int) -> tuple[str, str]:
    token = (
        await conn.graphql(
            SIGN_UP,
            {
                "i": {
                    "email": "organizer@bench.test",
                    "password": "organizer-password",
                    "name": "Organizer",
                }
            },
        )
    )["data"]["register"]["accessToken"]
    org = (await conn.graphql(ORG, {"i": {"name": "Flash Sale Org"}}, token))["data"][
        "createOrganization"
    ]["organization"]["id"]
    start = datetime.now(UTC) + timedelta(days=30)
    occurrence = {"startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=3)).isoformat()}
    event = (
        await conn.graphql(
            EVENT,
            {"i": {"organizationId": org, "title": "Flash Sale", "occurrences": [occurrence]}},
            token,
        )
    )["data"]["createEvent"]["event"]["id"]
    ticket_type = (
        await conn.graphql(
            TYPE,
            {
                "i": {
                    "eventId": event,
                    "name": "General",
                    "price": {"amount": "25.00", "currency": "USD"},
                    "quantity": tickets,
                }
            },
            token,
        )
    )["data"]["createTicketType"]["ticketType"]["id"]
    await conn.graphql(PUBLISH, {"id": event}, token)
    return event, ticket_type


async def buyers(
    url: str, event: str, ticket_type: str, count: int, concurrency: int
) -> tuple[list[float], dict[str, int]]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(count):
        queue.put_nowait(n)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        conn = Connection.to(url)
        try:
            while True:
                try:
                    n = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                order = await conn.graphql(
                    ORDER,
                    {
                        "i": {
                            "eventId": event,
                            "items": [{"ticketTypeId": ticket_type, "quantity": 1}],
                            "buyerEmail": f"b{n}@bench.test",
                        }
                    },
                )
                payload = order["data"]["createOrder"]
                if payload["order"] is not None:
                    paid = await conn.graphql(
                        PAY, {"i": {"orderId": payload["order"]["id"], "provider": "TEST"}}
                    )
                    outcome = (
                        "paid"
                        if paid["data"]["createPayment"]["payment"]
                        else paid["data"]["createPayment"]["errors"][0]["code"]
                    )
                else:
                    outcome = payload["errors"][0]["code"]
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
                latencies.append(time.perf_counter() - started)
        finally:
            conn.close()

    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return latencies, outcomes


def _asyncpg_dsn(database_url: str) -> dict[str, str]:
    parsed = urlparse(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    host = parse_qs(parsed.query).get("host", [parsed.hostname or "localhost"])[0]
    return {
        "host": host,
        "user": parsed.username or "postgres",
        "database": parsed.path.lstrip("/"),
    }


async def raw_ceiling(database_url: str, decrements: int = 10_000, tasks: int = 64) -> float:
    """Single-row conditional decrements, each its own transaction, 64 at a time."""
    params = _asyncpg_dsn(database_url)
    setup = await asyncpg.connect(**params)
    await setup.execute(
        "DROP TABLE IF EXISTS bench_ceiling; CREATE TABLE bench_ceiling (id int PRIMARY KEY, left_ int NOT NULL)"
    )
    await setup.execute("INSERT INTO bench_ceiling VALUES (1, $1)", decrements)
    remaining = [decrements]

    async def task() -> None:
        conn = await asyncpg.connect(**params)
        try:
            while remaining[0] > 0:
                remaining[0] -= 1
                await conn.fetchval(
                    "UPDATE bench_ceiling SET left_ = left_ - 1 WHERE id = 1 AND left_ > 0 RETURNING left_"
                )
        finally:
            await conn.close()

    started = time.perf_counter()
    await asyncio.gather(*[task() for _ in range(tasks)])
    elapsed = time.perf_counter() - started
    left = await setup.fetchval("SELECT left_ FROM bench_ceiling WHERE id = 1")
    await setup.execute("DROP TABLE bench_ceiling")
    await setup.close()
    assert left == 0, left
    return decrements / elapsed


async def verify(database_url: str, ticket_type: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(**_asyncpg_dsn(database_url))
    row = await conn.fetchrow(
        "SELECT quantity, sold, reserved, held FROM inventory WHERE ticket_type_id = $1",
        __import__("uuid").UUID(ticket_type),
    )
    orders = await conn.fetchval(
        "SELECT count(*) FROM orders WHERE status IN ('pending', 'confirmed')"
    )
    await conn.close()
    taken = row["sold"] + row["reserved"] + row["held"]
    return taken, max(0, taken - row["quantity"]), orders


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=20_000)
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=200)
    add_workers_option(parser)
    args = parser.parse_args()

    print(f"machine: {machine()}")
    with embedded_server(
        DB_POOL_SIZE="40", DB_MAX_OVERFLOW="40", WEB_CONCURRENCY=str(args.workers)
    ) as server:
        conn = Connection.to(server.url)
        event, ticket_type = await setup(conn, args.tickets)
        conn.close()
        database_url = server.runtime()["database_url"]
        postgres = server.postgres()
        pg_pids = [postgres.pid, *[c.pid for c in postgres.children()]] if postgres else []

        def pg_cpu() -> float:
            total = 0.0
            if postgres is None:
                return total
            for proc in [postgres, *postgres.children()]:
                try:
                    total += proc.cpu_times().user + proc.cpu_times().system
                except Exception:  # noqa: S112 - a backend that exited
                    continue
            return total

        apps = server.app_pids()
        server_cpu, database_cpu = cpu_seconds(*apps), pg_cpu()
        client_cpu = time.process_time()
        with Sampler([*apps, *pg_pids[:1]]) as sampler:
            started = time.perf_counter()
            latencies, outcomes = await buyers(
                server.url, event, ticket_type, args.buyers, args.concurrency
            )
            elapsed = time.perf_counter() - started
        client_cpu = time.process_time() - client_cpu
        server_cpu = cpu_seconds(*apps) - server_cpu
        database_cpu = pg_cpu() - database_cpu
        taken, oversold, orders = await verify(database_url, ticket_type)
        ceiling = await raw_ceiling(database_url)

    sold = outcomes.get("paid", 0)
    rate = sold / elapsed
    p = percentiles(latencies)
    print(
        f"buyers: {args.buyers} at {args.concurrency} in flight, {elapsed:.1f} s; outcomes: {outcomes}"
    )
    print(
        f"tickets sold: {sold} (database: {taken} taken by {orders} orders), oversold: {oversold}"
    )
    print(
        f"orders per second: {rate:.0f} (buyers per second incl. sold-out answers: {args.buyers / elapsed:.0f})"
    )
    print(
        f"latency per buyer (createOrder + createPayment): p50 {p['p50'] * 1000:.1f} ms, p95 {p['p95'] * 1000:.1f} ms, p99 {p['p99'] * 1000:.1f} ms"
    )
    print(
        f"server CPU per order: {server_cpu * 1000 / max(sold, 1):.1f} ms (PostgreSQL: {database_cpu * 1000 / max(sold, 1):.1f} ms)"
    )
    print(
        f"load generator CPU per order (this process, same machine): {client_cpu * 1000 / max(sold, 1):.1f} ms"
    )
    print(sampler.peak_of(apps))
    print(
        f"raw ceiling (asyncpg, 64 tasks, 10,000 conditional decrements): {ceiling:.0f} per second"
    )
    print(f"orders per second / raw ceiling: {rate / ceiling:.1%}")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    try:
        import uvloop  # the load generator's own overhead competes with the server for CPU

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
