"""Webhook deliveries per second to a local receiver, end to end.

Starts embedded PostgreSQL and Redis in a temporary directory, migrates, starts a local
HTTP receiver and `eventapi worker` as child processes, registers endpoints, then appends
events to the outbox (committed in batches, as domain code would) and waits until every
delivery is recorded as delivered. Prints throughput, latency from the event's commit to
the receiver's 200 being recorded, the machine's load and CPU count, and peak memory.

    .venv/bin/python bench/webhooks.py [--events 500] [--endpoints 8] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

JWT_SECRET = "bench-secret-bench-secret-bench-secret-01"


# ---- the receiver (run in its own process: `webhooks.py --receiver PORT`)


async def _serve_receiver(port: int) -> None:
    response = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok"

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(response)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


# ---- the benchmark


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def setup(database_url: str, endpoints: int, receiver_url: str) -> uuid.UUID:
    from server.config import Settings
    from server.db import Database
    from server.ids import new_id
    from server.organizations.models import Organization
    from server.webhooks.models import WebhookEndpoint
    from server.webhooks.secret_store import encrypt_secret, new_secret

    settings = Settings(_env_file=None, jwt_secret=JWT_SECRET)  # type: ignore[call-arg]
    db = Database(database_url, pool_size=2, max_overflow=0)
    org_id = new_id()
    async with db.transaction() as session:
        session.add(Organization(id=org_id, name="Bench", slug=f"bench-{org_id.hex[:8]}"))
        await session.flush()
        for i in range(endpoints):
            session.add(
                WebhookEndpoint(
                    id=new_id(),
                    organization_id=org_id,
                    url=f"{receiver_url}/hook/{i}",
                    events=["*"],
                    secret_encrypted=encrypt_secret(new_secret(), jwt_key=settings.jwt_key),
                    active=True,
                )
            )
    await db.dispose()
    return org_id


async def emit_events(
    database_url: str, redis_url: str, org_id: uuid.UUID, events: int
) -> tuple[float, float]:
    """Append `events` outbox events in transactions of 25, nudging the dispatcher as the
    app does after each commit. Returns when the first and the last commit happened."""
    from arq import create_pool
    from arq.connections import RedisSettings
    from redis.asyncio import Redis

    from server.app_state import AppState
    from server.config import Settings
    from server.db import Database
    from server.effects import EffectRunner
    from server.outbox.service import emit

    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, database_url=database_url, redis_url=redis_url, jwt_secret=JWT_SECRET
    )
    db = Database(database_url, pool_size=2, max_overflow=0)
    redis = Redis.from_url(redis_url)
    state = AppState(settings=settings, db=db, redis=redis)
    state.queue = await create_pool(RedisSettings.from_dsn(redis_url))
    EffectRunner(state).install(db)
    started = time.time()
    for start in range(0, events, 25):
        async with db.transaction() as session:
            for n in range(start, min(events, start + 25)):
                await emit(
                    session,
                    "order.confirmed",
                    organization_id=org_id,
                    payload={
                        "orderId": str(uuid.uuid4()),
                        "n": n,
                        "total": 12500,
                        "currency": "NGN",
                    },
                )
    finished = time.time()
    await state.queue.aclose()
    await redis.aclose()
    await db.dispose()
    return started, finished


async def wait_delivered(
    database_url: str, expected: int, timeout: float
) -> tuple[list[float], float]:
    """Poll until `expected` deliveries are delivered; returns each one's latency (event
    commit to delivery recorded, seconds) and when the first was recorded."""
    from sqlalchemy import func, select

    from server.db import Database
    from server.outbox.models import OutboxEvent
    from server.webhooks.models import WebhookDelivery

    db = Database(database_url, pool_size=1, max_overflow=0)
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with db.read() as session:
                done = await session.scalar(
                    select(func.count())
                    .select_from(WebhookDelivery)
                    .where(WebhookDelivery.status == "delivered")
                )
            if (done or 0) >= expected:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {done} of {expected} delivered")
            await asyncio.sleep(0.05)
        async with db.read() as session:
            rows = (
                await session.execute(
                    select(WebhookDelivery.delivered_at, OutboxEvent.created_at).join(
                        OutboxEvent, OutboxEvent.id == WebhookDelivery.event_id
                    )
                )
            ).all()
            first = min(d for d, _ in rows if d is not None).timestamp()
            return [(d - c).total_seconds() for d, c in rows if d is not None], first
    finally:
        await db.dispose()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class PeakRss:
    """Samples a process's resident memory while the benchmark runs."""

    def __init__(self, pid: int) -> None:
        self.process = psutil.Process(pid)
        self.peak = 0
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, self.process.memory_info().rss)
            except psutil.Error:
                return
            await asyncio.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._task = asyncio.get_running_loop().create_task(self._sample())
        return self

    def __exit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()


async def run(args: argparse.Namespace, database_url: str, redis_url: str, root: Path) -> None:
    receiver = worker = None
    try:
        port = free_port()
        receiver = subprocess.Popen(
            [sys.executable, __file__, "--receiver", str(port)], stdin=subprocess.DEVNULL
        )
        org_id = await setup(database_url, args.endpoints, f"http://127.0.0.1:{port}")
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "DATA_DIR": str(root / "data"),
            "JWT_SECRET": JWT_SECRET,
            "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            "WORKER_CONCURRENCY": str(args.concurrency),
            "LOG_LEVEL": "WARNING",
        }
        log = (root / "worker.log").open("wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        await asyncio.sleep(3)  # the worker connects and starts polling
        expected = args.events * args.endpoints
        load_before = os.getloadavg()
        worker_process = psutil.Process(worker.pid)
        cpu_before = sum(worker_process.cpu_times()[:2])
        with PeakRss(worker.pid) as worker_memory:
            started, emitted = await emit_events(database_url, redis_url, org_id, args.events)
            latencies, first = await wait_delivered(database_url, expected, args.timeout)
            elapsed = time.time() - started
        worker_cpu = sum(worker_process.cpu_times()[:2]) - cpu_before
        load_after = os.getloadavg()
        print(f"deliveries:     {expected} ({args.events} events x {args.endpoints} endpoints)")
        print(f"elapsed:        {elapsed:.2f} s (first commit to last delivery recorded)")
        print(
            f"                events committed in {emitted - started:.2f} s, "
            f"first delivery recorded after {first - started:.2f} s"
        )
        print(f"throughput:     {expected / elapsed:.0f} deliveries/s")
        print(
            "latency:        "
            f"p50 {percentile(latencies, 50) * 1000:.0f} ms, "
            f"p95 {percentile(latencies, 95) * 1000:.0f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.0f} ms, "
            f"max {max(latencies) * 1000:.0f} ms (event commit to delivery recorded; "
            f"mean {statistics.mean(latencies) * 1000:.0f} ms)"
        )
        print(
            f"worker:         1 process, WORKER_CONCURRENCY={args.concurrency}, "
            f"{worker_cpu / expected * 1000:.2f} ms CPU per delivery "
            f"(at most {expected / worker_cpu:.0f} deliveries/s per core)"
        )
        print(
            f"machine:        {os.cpu_count()} CPUs, load average (1 min) "
            f"{load_before[0]:.2f} before, {load_after[0]:.2f} after"
        )
        bench_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"peak memory:    worker {worker_memory.peak / 2**20:.0f} MiB, "
            f"benchmark process {bench_peak:.0f} MiB"
        )
    finally:
        for child in (worker, receiver):
            if child is not None and child.poll() is None:
                child.terminate()
                try:
                    child.wait(15)
                except subprocess.TimeoutExpired:
                    child.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--endpoints", type=int, default=8)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_serve_receiver(args.receiver))
        return
    from server.embedded import EmbeddedServices
    from server.migrate import upgrade

    root = Path(tempfile.mkdtemp(prefix="eventapi-bench-"))
    services = EmbeddedServices(root, durable=False)
    services.start()
    try:
        upgrade(services.postgres.url, "heads")
        asyncio.run(run(args, services.postgres.url, services.redis.url, root))
    finally:
        services.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
