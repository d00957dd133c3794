"""Check-in at the gate: 10,000 tickets scanned once each, 50 scans in flight.

Against `eventapi serve` on the embedded default. The event and ticket type are created
through the API; the tickets are issued in bulk through the service code
(`server.tickets.service.issue_tickets`, the function order confirmation calls, on
confirmed orders of 10 tickets written straight into the database), because buying
10,000 tickets is what bench/flash_sale.py measures. Then every ticket's QR payload goes
through `checkIn` over keep-alive HTTP, as a staff member's scanner would send it.

Prints check-ins per second, p50/p95/p99 latency, the server's CPU milliseconds per
check-in, its peak memory, the outcome counts (must be 10,000 successes), what the
database holds afterwards, and the machine's load before and after; and, in the same run
with the same client, the rate of a bare Starlette JSON endpoint, and the ratio of the two.

    .venv/bin/python bench/checkin.py [--tickets 10000] [--concurrency 50]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, text, update

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    JWT_SECRET,
    Connection,
    Sampler,
    add_workers_option,
    bare_endpoint,
    bare_rate,
    cpu_seconds,
    embedded_server,
    machine,
    percentiles,
)
from server.config import Settings
from server.db import Database
from server.ids import new_id
from server.orders.models import Order, OrderItem, OrderStatus
from server.ticketing.models import Inventory
from server.tickets.service import issue_tickets

SIGN_UP = """mutation($i: RegisterInput!) {
  register(input: $i) { accessToken user { id } errors { message } } }"""
ORG = """mutation($i: CreateOrganizationInput!) {
  createOrganization(input: $i) { organization { id } errors { message } } }"""
EVENT = """mutation($i: CreateEventInput!) {
  createEvent(input: $i) { event { id occurrences { id } } errors { message } } }"""
TYPE = """mutation($i: CreateTicketTypeInput!) {
  createTicketType(input: $i) { ticketType { id } errors { message } } }"""
PUBLISH = """mutation($id: ID!) { publishEvent(id: $id) { errors { message } } }"""
CHECK_IN = """mutation Scan($i: CheckInInput!) {
  checkIn(input: $i) { checkIn { id at } errors { code } } }"""
PER_ORDER = 10


async def setup(conn: Connection, tickets: int) -> dict[str, str]:
    """An organizer (the scanner: owners may check in), an event, a ticket type."""
    registered = (
        await conn.graphql(
            SIGN_UP,
            {
                "i": {
                    "email": "gate@bench.test",
                    "password": "gate-keeper-password",
                    "name": "Gate",
                }
            },
        )
    )["data"]["register"]
    token = registered["accessToken"]
    org = (await conn.graphql(ORG, {"i": {"name": "Check-in Org"}}, token))["data"][
        "createOrganization"
    ]["organization"]["id"]
    start = datetime.now(UTC) + timedelta(days=1)
    occurrence = {"startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=3)).isoformat()}
    event = (
        await conn.graphql(
            EVENT,
            {"i": {"organizationId": org, "title": "Stadium Night", "occurrences": [occurrence]}},
            token,
        )
    )["data"]["createEvent"]["event"]
    ticket_type = (
        await conn.graphql(
            TYPE,
            {
                "i": {
                    "eventId": event["id"],
                    "name": "General",
                    "price": {"amount": "25.00", "currency": "USD"},
                    "quantity": tickets,
                }
            },
            token,
        )
    )["data"]["createTicketType"]["ticketType"]["id"]
    await conn.graphql(PUBLISH, {"id": event["id"]}, token)
    return {
        "token": token,
        "user": registered["user"]["id"],
        "org": org,
        "event": event["id"],
        "occurrence": event["occurrences"][0]["id"],
        "ticket_type": ticket_type,
    }


async def issue(database_url: str, sale: dict[str, str], tickets: int, key: bytes) -> list[str]:
    """Confirmed orders of PER_ORDER tickets each, and their tickets via issue_tickets."""
    db = Database(database_url, pool_size=2, max_overflow=0)
    codes: list[str] = []
    try:
        async with db.transaction() as session:
            inventory_id = await session.scalar(
                select(Inventory.id).where(
                    Inventory.ticket_type_id == uuid.UUID(sale["ticket_type"]),
                    Inventory.occurrence_id == uuid.UUID(sale["occurrence"]),
                )
            )
            assert inventory_id is not None
            now = datetime.now(UTC)
            for n in range(0, tickets, PER_ORDER):
                quantity = min(PER_ORDER, tickets - n)
                order = Order(
                    id=new_id(),
                    organization_id=uuid.UUID(sale["org"]),
                    event_id=uuid.UUID(sale["event"]),
                    occurrence_id=uuid.UUID(sale["occurrence"]),
                    buyer_email=f"fan{n}@bench.test",
                    status=OrderStatus.CONFIRMED,
                    currency="USD",
                    subtotal_minor=2500 * quantity,
                    discount_minor=0,
                    platform_fee_minor=0,
                    provider_fee_minor=0,
                    fees_minor=0,
                    total_minor=2500 * quantity,
                    confirmed_at=now,
                )
                item = OrderItem(
                    id=new_id(),
                    order_id=order.id,
                    ticket_type_id=uuid.UUID(sale["ticket_type"]),
                    inventory_id=inventory_id,
                    quantity=quantity,
                    unit_price_minor=2500,
                    subtotal_minor=2500 * quantity,
                    seat_ids=[],
                )
                session.add(order)
                await session.flush()
                session.add(item)
                await session.flush()
                issued = await issue_tickets(
                    session, order=order, items=[item], now=now, signing_key=key
                )
                codes.extend(t.qr_payload for t in issued)
            await session.execute(
                update(Inventory).where(Inventory.id == inventory_id).values(sold=tickets)
            )
    finally:
        await db.dispose()
    return codes


async def scanners(
    url: str, token: str, codes: list[str], concurrency: int
) -> tuple[list[float], dict[str, int]]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for code in codes:
        queue.put_nowait(code)
    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def gate(number: int) -> None:
        conn = Connection.to(url)
        try:
            while True:
                try:
                    code = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                answer = await conn.graphql(
                    CHECK_IN, {"i": {"qrCode": code, "location": f"Gate {number}"}}, token
                )
                latencies.append(time.perf_counter() - started)
                payload = answer["data"]["checkIn"]
                outcome = "checked in" if payload["checkIn"] else payload["errors"][0]["code"]
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        finally:
            conn.close()

    await asyncio.gather(*[gate(n % 20 + 1) for n in range(concurrency)])
    return latencies, outcomes


async def verify(database_url: str, event_id: str) -> tuple[int, int, int]:
    db = Database(database_url, pool_size=1, max_overflow=0)
    try:
        async with db.read() as session:
            row = (
                await session.execute(
                    text(
                        "SELECT (SELECT count(*) FROM check_ins), "
                        "(SELECT count(*) FROM tickets WHERE event_id = :e AND status = 'used'), "
                        "(SELECT count(*) FROM outbox_events "
                        " WHERE event_type = 'ticket.checkedin')"
                    ),
                    {"e": event_id},
                )
            ).one()
    finally:
        await db.dispose()
    return int(row[0]), int(row[1]), int(row[2])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=50)
    add_workers_option(parser)
    args = parser.parse_args()

    print(f"machine before: {machine()}")
    with embedded_server(
        DB_POOL_SIZE="40", DB_MAX_OVERFLOW="40", WEB_CONCURRENCY=str(args.workers)
    ) as server:
        conn = Connection.to(server.url)
        sale = await setup(conn, args.tickets)
        conn.close()
        database_url = server.runtime()["database_url"]
        # The server signs with the key its settings derive from JWT_SECRET; so do we.
        key = Settings(_env_file=None, jwt_secret=JWT_SECRET).ticket_signing_key  # type: ignore[call-arg]
        issued_at = time.perf_counter()
        codes = await issue(database_url, sale, args.tickets, key)
        issuing = time.perf_counter() - issued_at

        apps = server.app_pids()
        server_cpu = cpu_seconds(*apps)
        with Sampler(apps) as sampler:
            started = time.perf_counter()
            latencies, outcomes = await scanners(server.url, sale["token"], codes, args.concurrency)
            elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(*apps) - server_cpu
        check_ins, used, outbox = await verify(database_url, sale["event"])
    with bare_endpoint() as bare_url:
        body = json.dumps({"query": CHECK_IN, "variables": {"i": {"qrCode": codes[0]}}}).encode()
        bare = await bare_rate(bare_url, body, requests=len(codes), concurrency=args.concurrency)

    done = outcomes.get("checked in", 0)
    p = percentiles(latencies)
    print(
        f"tickets: {len(codes)} issued through issue_tickets in {issuing:.1f} s "
        f"({len(codes) // PER_ORDER} orders of {PER_ORDER})"
    )
    print(
        f"scans: {len(codes)} at {args.concurrency} in flight, {elapsed:.1f} s; "
        f"outcomes: {outcomes}"
    )
    print(f"check-ins per second: {done / elapsed:.0f}")
    print(
        f"bare Starlette endpoint, same client and concurrency: {bare:.0f} requests per second; "
        f"check-in / bare: {done / elapsed / bare:.1%}"
    )
    print(
        f"latency per check-in: p50 {p['p50'] * 1000:.1f} ms, p95 {p['p95'] * 1000:.1f} ms, "
        f"p99 {p['p99'] * 1000:.1f} ms"
    )
    print(f"server CPU per check-in: {server_cpu * 1000 / max(done, 1):.2f} ms")
    print(sampler.peak_of(apps))
    print(f"database: {check_ins} check-ins, {used} tickets used, {outbox} ticket.checkedin events")
    print(f"machine after: {machine()}")


if __name__ == "__main__":
    try:
        import uvloop  # the load generator's own overhead competes with the server for CPU

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
