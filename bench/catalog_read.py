"""Throughput and latency of the public event page, against a plain Starlette endpoint.

    .venv/bin/python bench/catalog_read.py [--duration 10] [--connections 64] [--client auto]
    .venv/bin/python bench/catalog_read.py --replica [--events 60] [--duration 10]

Starts `eventapi serve` on a temporary DATA_DIR (embedded PostgreSQL and Redis, as a
fresh install runs), seeds an event through the API (venue, three dates, three ticket
types with price tiers, published), then drives the event page query (event by slug with
occurrences, ticket types, current prices and availability) with N keep-alive
connections. In the same run it drives a tiny Starlette JSON endpoint, served by the same
uvicorn setup, as the ceiling. It prints requests per second, p50/p99 latency, server CPU
milliseconds per request (the app process alone, and with PostgreSQL and Redis), peak
server memory, the client's own CPU, and the machine load.

With `--replica` it compares, in one run, the event page and the public event listing
(`--events` published events) against an instance on the primary alone and one with a
streaming replica of it (`DATABASE_REPLICA_URLS`), and prints where the reads went.

The load generator is `wrk` when it is on PATH (`--client auto`), else a small asyncio
client on raw sockets (`--client python`); both hold N connections open and send the
next request as soon as the previous answer is in."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
EVENTAPI = ROOT / ".venv" / "bin" / "eventapi"

EVENT_PAGE = """
query EventPage($slug: String!) {
  event(slug: $slug) {
    id slug title description status timezone startsAt
    venue { name address timezone }
    occurrences { id startsAt endsAt capacity }
    policies { refundPolicy transferAllowed cancellationPolicy refundDeadlineHours }
    ticketTypes {
      id name
      price { amount currency }
      currentPrice { amount currency }
      currentTier { name }
      availability { available status }
    }
  }
}
"""


LISTING = """
query Listing { events(first: 50) { totalCount edges { cursor node { id slug title startsAt } } } }
"""


# ---------------------------------------------------------------- the bare ceiling


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        await request.body()
        return JSONResponse({"data": {"event": {"id": "1", "title": "Jazz Night"}}})

    return Starlette(routes=[Route("/json", endpoint, methods=["GET", "POST"])])


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, timeout: float, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    raise SystemExit(f"server not ready at {url} after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextlib.contextmanager
def eventapi_serving(
    data_dir: str, port: int, **extra_env: str
) -> Iterator[subprocess.Popen[bytes]]:
    """`eventapi serve` on the embedded default in `data_dir`, rate limits out of the way,
    ready on `port`; stopped on exit."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        DATA_DIR=data_dir,
        PORT=str(port),
        HOST="127.0.0.1",
        **extra_env,
        RATE_LIMIT_ANONYMOUS="1000000000",
        RATE_LIMIT_AUTHENTICATED="1000000000",
    )
    with open(Path(data_dir) / f"server-{port}.log", "wb") as log:
        server = subprocess.Popen(
            [str(EVENTAPI), "serve"], env=env, stdout=log, stderr=log, cwd=ROOT
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}/health/ready", 180, server)
            yield server
        finally:
            stop(server)


class ProcessWatch:
    """CPU and peak memory of a server process and its children, sampled in a thread."""

    def __init__(self, pid: int, data_dir: str | None = None) -> None:
        self.root = psutil.Process(pid)
        self.data_dir = data_dir
        self.peak_rss = 0
        self.peak_tree_rss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def tree(self) -> list[psutil.Process]:
        """The process, its children, and (embedded mode) the PostgreSQL and Redis servers
        running on its data directory, which daemonize away from it."""
        found = {p.pid: p for p in [self.root, *self.root.children(recursive=True)]}
        if self.data_dir:
            for proc in psutil.process_iter(["cmdline"]):
                cmdline = " ".join(proc.info.get("cmdline") or [])
                if self.data_dir in cmdline and proc.pid not in found:
                    found[proc.pid] = proc
                    for child in proc.children(recursive=True):
                        found.setdefault(child.pid, child)
        return list(found.values())

    def cpu(self) -> tuple[float, float]:
        """(seconds of the app process, seconds of the whole tree)."""
        own = sum(self.root.cpu_times()[:2])
        total = 0.0
        for proc in self.tree():
            with contextlib.suppress(psutil.Error):
                total += sum(proc.cpu_times()[:2])
        return own, total

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_rss = max(self.peak_rss, self.root.memory_info().rss)
                tree = 0
                for proc in self.tree():
                    with contextlib.suppress(psutil.Error):
                        tree += proc.memory_info().rss
                self.peak_tree_rss = max(self.peak_tree_rss, tree)
            except psutil.Error:
                pass
            self._stop.wait(0.2)

    def __enter__(self) -> ProcessWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


# ---------------------------------------------------------------- seeding


def seed(base: str) -> str:
    """An organization, a venue, a published event with three dates and three ticket types
    with tiers, all through the API. Returns the event's slug."""
    client = httpx.Client(base_url=base, timeout=30)

    def call(query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        body = client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        data = body.json()
        if data.get("errors"):
            raise SystemExit(f"seeding failed: {data['errors']}")
        payload = next(iter(data["data"].values()))
        if isinstance(payload, dict) and payload.get("errors"):
            raise SystemExit(f"seeding failed: {payload['errors']}")
        return payload

    auth = call(
        "mutation($i: RegisterInput!) { register(input: $i) { accessToken errors { message } } }",
        {"i": {"email": "bench@example.com", "password": "correct horse battery", "name": "B"}},
    )
    token = auth["accessToken"]
    org = call(
        "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) "
        "{ organization { id } errors { message } } }",
        {"i": {"name": "Lagos Jazz Society"}},
        token,
    )["organization"]["id"]
    venue = call(
        "mutation($i: CreateVenueInput!) { createVenue(input: $i) "
        "{ venue { id } errors { message } } }",
        {
            "i": {
                "organizationId": org,
                "name": "Eko Hall",
                "address": "Victoria Island",
                "timezone": "Africa/Lagos",
            }
        },
        token,
    )["venue"]["id"]
    event = call(
        "mutation($i: CreateEventInput!) { createEvent(input: $i) "
        "{ event { id slug } errors { message } } }",
        {
            "i": {
                "organizationId": org,
                "title": "Lagos Jazz Night",
                "description": "Three nights of jazz by the lagoon.",
                "venueId": venue,
                "occurrences": [
                    {
                        "startsAt": f"2031-06-0{d}T19:00:00+01:00",
                        "endsAt": f"2031-06-0{d}T23:00:00+01:00",
                        "capacity": 500,
                    }
                    for d in (5, 6, 7)
                ],
                "policies": {
                    "refundPolicy": "Refunds up to 48 hours before.",
                    "refundDeadlineHours": 48,
                },
            }
        },
        token,
    )["event"]
    for name, price in (("General", "5000.00"), ("VIP", "25000.00"), ("Table", "100000.00")):
        ticket_type = call(
            "mutation($i: CreateTicketTypeInput!) { createTicketType(input: $i) "
            "{ ticketType { id } errors { message } } }",
            {
                "i": {
                    "eventId": event["id"],
                    "name": name,
                    "quantity": 200,
                    "price": {"amount": price, "currency": "NGN"},
                }
            },
            token,
        )["ticketType"]["id"]
        call(
            "mutation($i: CreatePriceTierInput!) { createPriceTier(input: $i) "
            "{ errors { message } } }",
            {
                "i": {
                    "ticketTypeId": ticket_type,
                    "name": "Early bird",
                    "maxQuantity": 50,
                    "price": {"amount": str(int(float(price) * 0.8)) + ".00", "currency": "NGN"},
                }
            },
            token,
        )
    call(
        "mutation($id: ID!) { publishEvent(id: $id) { event { id } errors { message } } }",
        {"id": event["id"]},
        token,
    )
    return str(event["slug"])


def seed_listing(base: str, events: int) -> None:
    """`events` more published events (one date, one ticket type each), for the listing."""
    client = httpx.Client(base_url=base, timeout=30)

    def call(query: str, variables: dict[str, Any], token: str | None = None) -> Any:
        headers = {"authorization": f"Bearer {token}"} if token else {}
        data = client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        ).json()
        payload = next(iter(data["data"].values()))
        if data.get("errors") or (isinstance(payload, dict) and payload.get("errors")):
            raise SystemExit(f"seeding failed: {data}")
        return payload

    token = call(
        "mutation($i: LoginInput!) { login(input: $i) { accessToken errors { message } } }",
        {"i": {"email": "bench@example.com", "password": "correct horse battery"}},
    )["accessToken"]
    org = call(
        "mutation($i: CreateOrganizationInput!) { createOrganization(input: $i) "
        "{ organization { id } errors { message } } }",
        {"i": {"name": "Listing Society"}},
        token,
    )["organization"]["id"]
    for n in range(events):
        event = call(
            "mutation($i: CreateEventInput!) { createEvent(input: $i) "
            "{ event { id } errors { message } } }",
            {
                "i": {
                    "organizationId": org,
                    "title": f"Evening {n}",
                    "occurrences": [
                        {
                            "startsAt": f"2031-07-{1 + n % 28:02d}T19:00:00Z",
                            "endsAt": f"2031-07-{1 + n % 28:02d}T22:00:00Z",
                            "capacity": 100,
                        }
                    ],
                }
            },
            token,
        )["event"]["id"]
        call(
            "mutation($i: CreateTicketTypeInput!) { createTicketType(input: $i) "
            "{ ticketType { id } errors { message } } }",
            {
                "i": {
                    "eventId": event,
                    "name": "General",
                    "quantity": 100,
                    "price": {"amount": "10.00", "currency": "USD"},
                }
            },
            token,
        )
        call(
            "mutation($id: ID!) { publishEvent(id: $id) { event { id } errors { message } } }",
            {"id": event},
            token,
        )


# ---------------------------------------------------------------- load generators


@dataclass
class Result:
    requests: int
    errors: int
    seconds: float
    latencies: list[float] = field(default_factory=list)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    client_cpu_s: float = 0.0

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def finish(self) -> Result:
        if self.latencies:
            ordered = sorted(self.latencies)
            self.p50_ms = statistics.median(ordered) * 1000
            self.p99_ms = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return self


def http_request(port: int, path: str, body: bytes | None) -> bytes:
    method = "POST" if body is not None else "GET"
    head = [
        f"{method} {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Accept: application/json",
        "Connection: keep-alive",
    ]
    if body is not None:
        head += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + (body or b"")


class _Conn(asyncio.Protocol):
    def __init__(
        self, request: bytes, stats: Result, measure: list[bool], done: asyncio.Future[None]
    ):
        self.request = request
        self.stats = stats
        self.measure = measure
        self.done = done
        self.buffer = bytearray()
        self.started = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.send()

    def send(self) -> None:
        self.started = time.perf_counter()
        self.transport.write(self.request)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end])
        match = re.search(rb"(?i)content-length:\s*(\d+)", head)
        length = int(match.group(1)) if match else 0
        if len(self.buffer) < end + 4 + length:
            return
        elapsed = time.perf_counter() - self.started
        ok = head.startswith(b"HTTP/1.1 200") and b'"errors"' not in self.buffer[end:]
        del self.buffer[: end + 4 + length]
        if self.measure[0]:
            self.stats.requests += 1
            self.stats.latencies.append(elapsed)
            if not ok:
                self.stats.errors += 1
        if self.done.done():
            self.transport.close()
        else:
            self.send()

    def connection_lost(self, exc: Exception | None) -> None:
        pass


async def python_load(
    port: int, request: bytes, connections: int, warmup: float, duration: float
) -> Result:
    loop = asyncio.get_running_loop()
    stats = Result(0, 0, duration)
    measure = [False]
    done: asyncio.Future[None] = loop.create_future()
    transports = []
    for _ in range(connections):
        transport, _ = await loop.create_connection(
            lambda: _Conn(request, stats, measure, done), "127.0.0.1", port
        )
        transports.append(transport)
    await asyncio.sleep(warmup)
    cpu_before = resource.getrusage(resource.RUSAGE_SELF)
    measure[0] = True
    started = time.perf_counter()
    await asyncio.sleep(duration)
    measure[0] = False
    stats.seconds = time.perf_counter() - started
    cpu_after = resource.getrusage(resource.RUSAGE_SELF)
    done.set_result(None)
    await asyncio.sleep(0.2)
    for transport in transports:
        transport.close()
    stats.client_cpu_s = (cpu_after.ru_utime - cpu_before.ru_utime) + (
        cpu_after.ru_stime - cpu_before.ru_stime
    )
    return stats.finish()


def wrk_load(
    port: int, path: str, body: bytes | None, connections: int, warmup: float, duration: float
) -> Result:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        if body is not None:
            script.write(
                'wrk.method = "POST"\n'
                f"wrk.body = {json.dumps(body.decode())}\n"
                'wrk.headers["Content-Type"] = "application/json"\n'
                'wrk.headers["Accept"] = "application/json"\n'
            )
    url = f"http://127.0.0.1:{port}{path}"
    threads = str(min(2, connections))
    base = ["wrk", "-t", threads, "-c", str(connections), "-s", script.name, "--latency"]
    base += ["--timeout", "30s"]
    subprocess.run([*base, "-d", f"{max(1, int(warmup))}s", url], capture_output=True, check=True)
    started = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(
        [*base, "-d", f"{int(duration)}s", url], capture_output=True, text=True, check=True
    ).stdout
    ended = resource.getrusage(resource.RUSAGE_CHILDREN)
    os.unlink(script.name)

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    def millis(label: str) -> float:
        found = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)\b", out)
        if not found:
            return 0.0
        scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[found.group(2)]
        return float(found.group(1)) * scale

    requests = int(number(r"(\d+) requests in"))
    seconds = number(r"requests in ([\d.]+)s")
    non_2xx = int(number(r"Non-2xx or 3xx responses: (\d+)"))
    result = Result(requests, non_2xx, seconds)
    result.p50_ms, result.p99_ms = millis("50"), millis("99")
    result.client_cpu_s = (ended.ru_utime - started.ru_utime) + (ended.ru_stime - started.ru_stime)
    return result


def run_load(args: argparse.Namespace, port: int, path: str, body: bytes | None) -> Result:
    if args.client == "wrk":
        return wrk_load(port, path, body, args.connections, args.warmup, args.duration)
    request = http_request(port, path, body)
    try:
        import uvloop

        factory = uvloop.new_event_loop
    except ImportError:
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(python_load(port, request, args.connections, args.warmup, args.duration))


def measured(
    args: argparse.Namespace,
    pid: int,
    port: int,
    path: str,
    body: bytes | None,
    data_dir: str | None = None,
) -> dict[str, Any]:
    with ProcessWatch(pid, data_dir) as watch:
        own_before, tree_before = watch.cpu()
        result = run_load(args, port, path, body)
        own_after, tree_after = watch.cpu()
    # CPU is counted over warm-up and run alike, so divide by the requests of both.
    total_seconds = args.warmup + result.seconds
    served = max(1.0, result.rps * total_seconds)
    return {
        "rps": result.rps,
        "requests": result.requests,
        "errors": result.errors,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "app_cpu_ms": (own_after - own_before) * 1000 / served,
        "tree_cpu_ms": (tree_after - tree_before) * 1000 / served,
        "peak_rss_mb": watch.peak_rss / 2**20,
        "peak_tree_rss_mb": watch.peak_tree_rss / 2**20,
        "client_cpu_pct": 100 * result.client_cpu_s / result.seconds if result.seconds else 0.0,
    }


def report(name: str, r: dict[str, Any]) -> None:
    print(
        f"{name:<30} {r['rps']:>9.0f} req/s  "
        f"p50 {r['p50_ms']:>6.2f} ms  p99 {r['p99_ms']:>7.2f} ms  "
        f"cpu {r['app_cpu_ms']:>5.2f} ms/req (with PostgreSQL+Redis {r['tree_cpu_ms']:>5.2f})  "
        f"peak rss {r['peak_rss_mb']:>5.0f} MiB (tree {r['peak_tree_rss_mb']:>5.0f})  "
        f"errors {r['errors']}  client cpu {r['client_cpu_pct']:.0f}%"
    )


def replica_comparison(args: argparse.Namespace) -> None:
    """The event page and the public listing against `eventapi serve` on the primary alone,
    then against one with a streaming replica of it (`pg_basebackup -R`), in one run. Both
    use the PostgreSQL and Redis of an embedded install (started by a first, idle instance)."""
    from server.embedded import EmbeddedPostgres
    from server.embedded_replica import EmbeddedReplica

    with tempfile.TemporaryDirectory(prefix="eventapi-bench-") as data_dir:
        owner_port = free_port()
        with eventapi_serving(data_dir, owner_port):
            base = f"http://127.0.0.1:{owner_port}"
            slug = seed(base)
            seed_listing(base, args.events)
            runtime = json.loads((Path(data_dir) / "runtime.json").read_text())
            socket_dir = Path(runtime["database_url"].split("host=", 1)[1])
            primary = EmbeddedPostgres(Path(data_dir) / "postgres" / "data", socket_dir)
            replica = EmbeddedReplica.of(primary, Path(data_dir) / "replica")
            replica.start()
            try:
                bodies = {
                    "event page": json.dumps(
                        {"query": EVENT_PAGE, "variables": {"slug": slug}}
                    ).encode(),
                    "listing": json.dumps({"query": LISTING}).encode(),
                }
                shapes = {
                    "primary alone": {},
                    "one replica": {"DATABASE_REPLICA_URLS": json.dumps([replica.url])},
                }
                results: dict[str, dict[str, Any]] = {}
                for shape, extra in shapes.items():
                    port = free_port()
                    env = {
                        "DATABASE_URL": runtime["database_url"],
                        "REDIS_URL": runtime["redis_url"],
                        "WORKER_IN_PROCESS": "false",
                        "LOG_LEVEL": "WARNING",
                        **extra,
                    }
                    with eventapi_serving(data_dir, port, **env) as server:
                        url = f"http://127.0.0.1:{port}"
                        if extra:
                            wait_replica_ok(url)
                        for name, body in bodies.items():
                            results[f"{name}, {shape}"] = measured(
                                args, server.pid, port, "/graphql", body, data_dir
                            )
                        results[f"reads, {shape}"] = {"reads": reads_by_target(url)}
            finally:
                replica.stop()
    print()
    for name, result in results.items():
        if "reads" in result:
            print(f"{name:<32} {result['reads']}")
        else:
            report(name, result)


def wait_replica_ok(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        replicas = httpx.get(f"{url}/health", timeout=5).json().get("replicas", [])
        if replicas and replicas[0]["state"] == "ok":
            return
        time.sleep(0.2)
    raise SystemExit("the replica did not become usable")


def reads_by_target(url: str) -> dict[str, float]:
    """eventapi_db_reads_total of the instance: where replica-eligible reads went."""
    found: dict[str, float] = {}
    for line in httpx.get(f"{url}/metrics", timeout=10).text.splitlines():
        if line.startswith("eventapi_db_reads_total{"):
            target = line.split('target="', 1)[1].split('"', 1)[0]
            found[target] = float(line.rsplit(" ", 1)[1])
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--without-ticket-types",
        action="store_true",
        help="drop ticketTypes from the page (isolates the cached event bundle)",
    )
    parser.add_argument(
        "--replica",
        action="store_true",
        help="the event page and the public listing with one streaming replica against the "
        "primary alone, in one run (instead of the bare ceiling comparison)",
    )
    parser.add_argument("--events", type=int, default=60, help="events listed (--replica)")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.client == "auto":
        args.client = "wrk" if shutil.which("wrk") else "python"
    if args.replica:
        load_before = os.getloadavg()
        print(
            f"cpus {os.cpu_count()}  load average before {load_before[0]:.2f}  "
            f"client {args.client}  connections {args.connections}  events {args.events}"
        )
        replica_comparison(args)
        load_after = os.getloadavg()
        print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
        return 0

    load_before = os.getloadavg()
    print(
        f"cpus {os.cpu_count()}  load average before {load_before[0]:.2f} {load_before[1]:.2f} "
        f"{load_before[2]:.2f}  client {args.client}  connections {args.connections}  "
        f"duration {args.duration:.0f}s (+{args.warmup:.0f}s warm-up)"
    )

    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, __file__, "--serve-bare", str(bare_port)])
    try:
        wait_ready(f"http://127.0.0.1:{bare_port}/json", 30, bare)
        bare_result = measured(args, bare.pid, bare_port, "/json", b'{"query": "{ ok }"}')
    finally:
        stop(bare)

    with tempfile.TemporaryDirectory(prefix="eventapi-bench-") as data_dir:
        port = free_port()
        with eventapi_serving(data_dir, port) as server:
            slug = seed(f"http://127.0.0.1:{port}")
            query = EVENT_PAGE
            if args.without_ticket_types:
                query = EVENT_PAGE.split("    ticketTypes")[0] + "  }\n}\n"
            body = json.dumps({"query": query, "variables": {"slug": slug}}).encode()
            check = httpx.post(
                f"http://127.0.0.1:{port}/graphql",
                content=body,
                headers={"content-type": "application/json"},
            ).json()
            assert check["data"]["event"]["id"], check
            event_result = measured(args, server.pid, port, "/graphql", body, data_dir)

    load_after = os.getloadavg()
    print()
    report("bare Starlette JSON", bare_result)
    report("event page query", event_result)
    ratio = event_result["rps"] / bare_result["rps"] if bare_result["rps"] else 0.0
    print(
        f"\nratio event page / bare: {100 * ratio:.1f}%  (target >= 10%, p99 < 100 ms: "
        f"{'met' if ratio >= 0.10 and event_result['p99_ms'] < 100 else 'NOT met'})"
    )
    print(f"load average after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
