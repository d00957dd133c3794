"""Flash sale, buyer shape by buyer shape: for each shape, `--buyers` buyers race for
`--tickets` tickets of a ticket type of its own, `--concurrency` in flight, over keep-alive
HTTP against `eventapi serve` on the embedded default. The shapes are what real clients
send:

- guest:       a guest with `buyerEmail`; createOrder, then createPayment (TEST)
- signed-in:   a signed-in buyer (Bearer token); createOrder, then createPayment
- signed-in+key: the same, each mutation with an `idempotencyKey` (careful clients)
- api-key:     an integrator's API key (X-API-Key), `buyerEmail` and idempotency keys
- promo:       a signed-in buyer with a promo code and idempotency keys
- checkout:    a signed-in buyer, one createOrder with `payment: {provider: TEST}` and a key

For each shape it prints orders per second (orders that got their payment), the latency
per buyer (p50/p95/p99), the server's CPU milliseconds per order (and PostgreSQL's), and
checks in the database that nothing was oversold. In the same run: the raw ceiling, 10,000
single-row conditional decrements through asyncpg with 64 tasks (the hot row alone), the
ratio of each shape to it, peak server memory and the machine's load before and after.

    .venv/bin/python bench/flash_sale.py [--buyers 4000] [--tickets 2000] [--concurrency 200]
        [--shapes guest,signed-in,...] [--workers N] [--via-nginx]

With `--via-nginx` the same shapes then run, in the same invocation, through Debian's nginx
(deploy/nginx.conf) in front of two instances on one embedded PostgreSQL and Redis, and the
table gains nginx's CPU per order.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import (
    Cluster,
    Connection,
    Sampler,
    Server,
    add_workers_option,
    cpu_seconds,
    embedded_server,
    machine,
    nginx_cluster,
    percentiles,
)
from bench.profile import Profiler, summarize

SIGN_UP = (
    """mutation($i: RegisterInput!) { register(input: $i) { accessToken errors { message } } }"""
)
ORG = """mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) { organization { id } errors { message } } }"""
EVENT = """mutation($i: CreateEventInput!) { createEvent(input: $i) { event { id } errors { message } } }"""
TYPE = """mutation($i: CreateTicketTypeInput!) { createTicketType(input: $i) { ticketType { id } errors { message } } }"""
PUBLISH = """mutation($id: ID!) { publishEvent(id: $id) { errors { message } } }"""
PROMOTION = (
    """mutation($i: CreatePromotionInput!) { createPromotion(input: $i) { errors { message } } }"""
)
API_KEY = (
    """mutation($i: CreateApiKeyInput!) { createApiKey(input: $i) { secret errors { message } } }"""
)
ORDER = """mutation Buy($i: CreateOrderInput!) { createOrder(input: $i) { order { id total { amount } } errors { code } } }"""
CHECKOUT = """mutation Checkout($i: CreateOrderInput!) { createOrder(input: $i) { order { id total { amount } payments { clientSecret } } errors { code } } }"""
PAY = """mutation Pay($i: CreatePaymentInput!) { createPayment(input: $i) { payment { id clientSecret } errors { code } } }"""

SHAPES = ["guest", "signed-in", "signed-in+key", "api-key", "promo", "checkout"]


@dataclass
class Setup:
    event: str
    types: dict[str, str]
    tokens: list[str]
    api_key: str


@dataclass
class Result:
    shape: str
    elapsed: float
    latencies: list[float]
    outcomes: dict[str, int]
    server_cpu: float
    database_cpu: float
    taken: int = 0
    oversold: int = 0
    orders: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def paid(self) -> int:
        return self.outcomes.get("paid", 0)

    @property
    def rate(self) -> float:
        return self.paid / self.elapsed


async def _call(conn: Connection, query: str, variables: dict[str, Any], **auth: str) -> Any:
    body = await conn.graphql(query, variables, **auth)
    if "errors" in body:
        raise RuntimeError(body["errors"])
    return body["data"]


async def setup(url: str, shapes: list[str], tickets: int, accounts: int) -> Setup:
    conn = Connection.to(url)
    try:
        organizer = (
            await _call(
                conn,
                SIGN_UP,
                {
                    "i": {
                        "email": "organizer@bench.test",
                        "password": "organizer-password",
                        "name": "Organizer",
                    }
                },
            )
        )["register"]["accessToken"]
        org = (await _call(conn, ORG, {"i": {"name": "Flash Sale Org"}}, token=organizer))[
            "createOrganization"
        ]["organization"]["id"]
        start = datetime.now(UTC) + timedelta(days=30)
        dates = [
            {"startsAt": start.isoformat(), "endsAt": (start + timedelta(hours=3)).isoformat()}
        ]
        event = (
            await _call(
                conn,
                EVENT,
                {"i": {"organizationId": org, "title": "Flash Sale", "occurrences": dates}},
                token=organizer,
            )
        )["createEvent"]["event"]["id"]
        types = {}
        for shape in shapes:
            types[shape] = (
                await _call(
                    conn,
                    TYPE,
                    {
                        "i": {
                            "eventId": event,
                            "name": shape,
                            "price": {"amount": "25.00", "currency": "USD"},
                            "quantity": tickets,
                        }
                    },
                    token=organizer,
                )
            )["createTicketType"]["ticketType"]["id"]
        await _call(conn, PUBLISH, {"id": event}, token=organizer)
        await _call(
            conn,
            PROMOTION,
            {
                "i": {
                    "organizationId": org,
                    "eventId": event,
                    "name": "Launch",
                    "kind": "PERCENTAGE",
                    "percentOff": 10,
                    "codes": ["LAUNCH10"],
                }
            },
            token=organizer,
        )
        api_key = (
            await _call(
                conn,
                API_KEY,
                {
                    "i": {
                        "organizationId": org,
                        "name": "box office",
                        "scopes": ["orders:write", "orders:read"],
                    }
                },
                token=organizer,
            )
        )["createApiKey"]["secret"]
    finally:
        conn.close()
    return Setup(event, types, await _accounts(url, accounts), api_key)


async def _accounts(url: str, count: int) -> list[str]:
    """Signed-in buyers: `count` accounts registered up front (not measured)."""
    tokens: list[str] = []
    queue = list(range(count))

    async def register() -> None:
        conn = Connection.to(url)
        try:
            while queue:
                n = queue.pop()
                data = await _call(
                    conn,
                    SIGN_UP,
                    {
                        "i": {
                            "email": f"buyer{n}@bench.test",
                            "password": "buyer-password",
                            "name": f"Buyer {n}",
                        }
                    },
                )
                tokens.append(data["register"]["accessToken"])
        finally:
            conn.close()

    await asyncio.gather(*[register() for _ in range(20)])
    return tokens


Buyer = Callable[[Connection, int], Awaitable[str]]


def buyer_for(shape: str, s: Setup) -> Buyer:
    """One buyer's requests for a shape; returns the outcome ("paid" or an error code)."""
    ticket_type = s.types[shape]

    def order_input(n: int, **extra: Any) -> dict[str, Any]:
        return {
            "eventId": s.event,
            "items": [{"ticketTypeId": ticket_type, "quantity": 1}],
            **extra,
        }

    async def pay(conn: Connection, order: dict[str, Any], key: str | None, **auth: str) -> str:
        pay_input: dict[str, Any] = {"orderId": order["id"], "provider": "TEST"}
        if key is not None:
            pay_input["idempotencyKey"] = key
        paid = (await _call(conn, PAY, {"i": pay_input}, **auth))["createPayment"]
        return "paid" if paid["payment"] else paid["errors"][0]["code"]

    async def place(conn: Connection, n: int, key: bool, extra: dict[str, Any], **auth: str) -> str:
        idem = {"idempotencyKey": f"{shape}-{n}-{uuid.uuid4().hex}"} if key else {}
        placed = (await _call(conn, ORDER, {"i": order_input(n, **extra, **idem)}, **auth))[
            "createOrder"
        ]
        if placed["order"] is None:
            return str(placed["errors"][0]["code"])
        return await pay(
            conn, placed["order"], f"pay-{idem['idempotencyKey']}" if key else None, **auth
        )

    def token(n: int) -> str:
        return s.tokens[n % len(s.tokens)]

    async def guest(conn: Connection, n: int) -> str:
        return await place(conn, n, False, {"buyerEmail": f"guest{n}@bench.test"})

    async def signed_in(conn: Connection, n: int) -> str:
        return await place(conn, n, False, {}, token=token(n))

    async def signed_in_key(conn: Connection, n: int) -> str:
        return await place(conn, n, True, {}, token=token(n))

    async def api_key(conn: Connection, n: int) -> str:
        return await place(conn, n, True, {"buyerEmail": f"box{n}@bench.test"}, api_key=s.api_key)

    async def promo(conn: Connection, n: int) -> str:
        return await place(conn, n, True, {"promoCode": "LAUNCH10"}, token=token(n))

    async def checkout(conn: Connection, n: int) -> str:
        data = await _call(
            conn,
            CHECKOUT,
            {
                "i": order_input(
                    n,
                    idempotencyKey=f"checkout-{n}-{uuid.uuid4().hex}",
                    payment={"provider": "TEST"},
                )
            },
            token=token(n),
        )
        placed = data["createOrder"]
        if placed["order"] is None:
            return str(placed["errors"][0]["code"])
        return "paid" if placed["order"]["payments"] else "unpaid"

    return {
        "guest": guest,
        "signed-in": signed_in,
        "signed-in+key": signed_in_key,
        "api-key": api_key,
        "promo": promo,
        "checkout": checkout,
    }[shape]


async def run_buyers(
    url: str, buyer: Buyer, count: int, concurrency: int
) -> tuple[list[float], dict[str, int], float]:
    queue = list(range(count))
    queue.reverse()
    latencies: list[float] = []
    outcomes: dict[str, int] = {}

    async def worker() -> None:
        conn = Connection.to(url)
        try:
            while queue:
                n = queue.pop()
                started = time.perf_counter()
                outcome = await buyer(conn, n)
                latencies.append(time.perf_counter() - started)
                outcomes[outcome] = outcomes.get(outcome, 0) + 1
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*[worker() for _ in range(concurrency)])
    return latencies, outcomes, time.perf_counter() - started


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
    setup_conn = await asyncpg.connect(**params)
    await setup_conn.execute(
        "DROP TABLE IF EXISTS bench_ceiling; CREATE TABLE bench_ceiling (id int PRIMARY KEY, left_ int NOT NULL)"
    )
    await setup_conn.execute("INSERT INTO bench_ceiling VALUES (1, $1)", decrements)
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
    left = await setup_conn.fetchval("SELECT left_ FROM bench_ceiling WHERE id = 1")
    await setup_conn.execute("DROP TABLE bench_ceiling")
    await setup_conn.close()
    assert left == 0, left
    return decrements / elapsed


async def verify(database_url: str, ticket_type: str) -> tuple[int, int, int]:
    conn = await asyncpg.connect(**_asyncpg_dsn(database_url))
    row = await conn.fetchrow(
        "SELECT quantity, sold, reserved, held FROM inventory WHERE ticket_type_id = $1",
        uuid.UUID(ticket_type),
    )
    orders = await conn.fetchval(
        "SELECT count(*) FROM orders o WHERE status IN ('pending', 'confirmed') AND EXISTS "
        "(SELECT 1 FROM order_items i WHERE i.order_id = o.id AND i.ticket_type_id = $1)",
        uuid.UUID(ticket_type),
    )
    await conn.close()
    taken = row["sold"] + row["reserved"] + row["held"]
    return taken, max(0, taken - row["quantity"]), orders


def workers_of(apps: list[int]) -> list[int]:
    """The processes that serve requests: the spawned app processes, or the one server."""
    return apps[1:] or apps


def _pg_cpu(postgres: Any) -> float:
    """PostgreSQL's CPU so far: the postmaster, its live backends, and (in the
    postmaster's children times) every backend that has exited and been reaped, so a
    connection closed mid-run does not take its CPU out of the difference."""
    if postgres is None:
        return 0.0
    times = postgres.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for proc in postgres.children():
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except Exception:  # noqa: S112 - a backend that exited meanwhile
            continue
    return total


async def run_shapes(
    server: Server | Cluster, args: argparse.Namespace, shapes: list[str]
) -> tuple[list[Result], float, str]:
    """Every shape against `server` (one instance, or several behind nginx): the results,
    the raw ceiling and the peak memory line."""
    results: list[Result] = []
    s = await setup(server.url, shapes, args.tickets, args.accounts)
    database_url = server.runtime()["database_url"]
    postgres = server.postgres()
    apps = server.app_pids()
    proxy = server.proxy_pids() if isinstance(server, Cluster) else []
    with Sampler([*apps, *([postgres.pid] if postgres else [])]) as sampler:
        for shape in shapes:
            server_cpu, database_cpu = cpu_seconds(*apps), _pg_cpu(postgres)
            proxy_cpu = cpu_seconds(*proxy)
            profiling = (
                Profiler(workers_of(apps), args.profile / f"{shape}.txt")
                if args.profile
                else contextlib.nullcontext()
            )
            with profiling:
                latencies, outcomes, elapsed = await run_buyers(
                    server.url, buyer_for(shape, s), args.buyers, args.concurrency
                )
            result = Result(
                shape,
                elapsed,
                latencies,
                outcomes,
                cpu_seconds(*apps) - server_cpu,
                _pg_cpu(postgres) - database_cpu,
            )
            if proxy:
                result.extra["nginx_cpu"] = cpu_seconds(*proxy) - proxy_cpu
            result.taken, result.oversold, result.orders = await verify(
                database_url, s.types[shape]
            )
            results.append(result)
            print(f"  {shape}: {result.rate:.0f} orders/s, outcomes {outcomes}", flush=True)
    return results, await raw_ceiling(database_url), sampler.peak_of(apps)


def print_table(title: str, results: list[Result], ceiling: float, peak: str) -> None:
    print(f"\n== {title}")
    header = f"{'shape':<15} {'orders/s':>9} {'x ceiling':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'CPU ms/order':>13} {'PG ms/order':>12} {'sold':>6} {'oversold':>9}"
    with_nginx = any("nginx_cpu" in r.extra for r in results)
    if with_nginx:
        header += f" {'nginx ms/order':>15}"
    print(header)
    print("-" * len(header))
    for r in results:
        p = percentiles(r.latencies)
        line = (
            f"{r.shape:<15} {r.rate:>9.0f} {r.rate / ceiling:>9.2f} {p['p50'] * 1000:>8.1f} "
            f"{p['p95'] * 1000:>8.1f} {p['p99'] * 1000:>8.1f} {r.server_cpu * 1000 / max(r.paid, 1):>13.2f} "
            f"{r.database_cpu * 1000 / max(r.paid, 1):>12.2f} {r.taken:>6} {r.oversold:>9}"
        )
        if with_nginx:
            line += f" {r.extra.get('nginx_cpu', 0.0) * 1000 / max(r.paid, 1):>15.2f}"
        print(line)
    print(
        f"raw ceiling (asyncpg, 64 tasks, 10,000 conditional decrements of one row): {ceiling:.0f} per second"
    )
    print(peak)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--buyers", type=int, default=4000, help="buyers per shape")
    parser.add_argument("--tickets", type=int, default=2000, help="tickets per shape")
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--accounts", type=int, default=400, help="signed-in buyer accounts")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument(
        "--profile",
        type=Path,
        help="directory for a py-spy profile of each shape (and its summary)",
    )
    parser.add_argument(
        "--via-nginx",
        action="store_true",
        help="then the same shapes through nginx in front of two instances (same run)",
    )
    add_workers_option(parser)
    args = parser.parse_args()
    shapes = [s for s in args.shapes.split(",") if s]
    unknown = set(shapes) - set(SHAPES)
    if unknown:
        parser.error(f"unknown shapes: {', '.join(sorted(unknown))}")

    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    print(f"machine before: {machine()}")
    settings = {
        "DB_POOL_SIZE": "40",
        "DB_MAX_OVERFLOW": "40",
        "WEB_CONCURRENCY": str(args.workers),
        "BCRYPT_ROUNDS": "4",
    }
    processes = f"{args.workers} app process{'es' if args.workers > 1 else ''}"
    runs: list[tuple[str, list[Result], float, str]] = []
    with embedded_server(**settings) as server:
        runs.append(
            (f"one instance ({processes}), direct", *await run_shapes(server, args, shapes))
        )
    if args.via_nginx:
        with nginx_cluster(2, **settings) as cluster:
            title = f"two instances ({processes} each) behind nginx"
            runs.append((title, *await run_shapes(cluster, args, shapes)))

    print(
        f"\n{args.buyers} buyers per shape for {args.tickets} tickets, {args.concurrency} in flight"
    )
    for title, results, ceiling, peak in runs:
        print_table(title, results, ceiling, peak)
    print(f"machine after: {machine()}")
    if args.profile:
        for shape in shapes:
            summary = summarize(sorted(args.profile.glob(f"{shape}.*txt")))
            (args.profile / f"{shape}.summary").write_text(summary + "\n")
        print(f"profiles and summaries in {args.profile}/")
    if any(r.oversold for _, results, _, _ in runs for r in results):
        raise SystemExit("OVERSOLD")


if __name__ == "__main__":
    try:
        import uvloop  # the load generator's own overhead competes with the server for CPU

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(main())
