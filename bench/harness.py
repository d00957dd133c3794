"""Shared pieces of the benchmarks: start `eventapi serve` on the embedded default in a
temporary DATA_DIR (or several instances behind nginx, `nginx_cluster`), a lean keep-alive
HTTP/1.1 client (so the load generator spends as little of the machine's CPU as possible),
and process CPU and peak-memory sampling."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
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

import psutil

ROOT = Path(__file__).resolve().parents[1]
JWT_SECRET = "bench-secret-bench-secret-bench-secret-01"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def machine() -> str:
    load = os.getloadavg()
    return (
        f"{os.cpu_count()} CPUs, load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, "
        f"{psutil.virtual_memory().total / 2**30:.0f} GiB RAM"
    )


@dataclass
class Server:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path

    def pid(self) -> int:
        return self.process.pid

    def app_pids(self) -> list[int]:
        """The serving process and the app processes it spawned (`--workers`), not the
        database or Redis."""
        pids = [self.process.pid]
        for child in psutil.Process(self.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "spawn_main" in " ".join(child.cmdline()):
                    pids.append(child.pid)
        return pids

    def runtime(self) -> dict[str, Any]:
        return dict(json.loads((self.data_dir / "runtime.json").read_text()))

    def postgres(self) -> psutil.Process | None:
        for child in psutil.Process(self.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if (
                    child.name() == "postgres"
                    and child.parent()
                    and child.parent().pid == self.process.pid
                ):
                    return child
        return None


def _bench_environment(data_dir: Path, port: int, env: dict[str, str]) -> dict[str, str]:
    environment = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "JWT_SECRET": JWT_SECRET,
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_ANONYMOUS": "100000000",
        "RATE_LIMIT_AUTHENTICATED": "100000000",
    }
    environment.pop("DATABASE_URL", None)
    environment.pop("REDIS_URL", None)
    environment.update({k.upper(): v for k, v in env.items()})
    return environment


@contextlib.contextmanager
def _serving(environment: dict[str, str], data_dir: Path, port: int) -> Iterator[Server]:
    """`eventapi serve` with `environment`, until it accepts connections on `port`."""
    log = (data_dir / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve"],
        cwd=ROOT,
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(f"http://127.0.0.1:{port}", process, data_dir)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError((data_dir / "server.log").read_text()[-3000:])
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@contextlib.contextmanager
def embedded_server(**env: str) -> Iterator[Server]:
    """`eventapi serve` with embedded PostgreSQL and Redis, in-process workers, JSON logs
    off the hot path (WARNING level); extra settings as keyword arguments."""
    data_dir = Path(tempfile.mkdtemp(prefix="eventapi-bench-"))
    port = free_port()
    try:
        with _serving(_bench_environment(data_dir, port, env), data_dir, port) as server:
            yield server
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class Cluster:
    """Several `eventapi serve` instances behind Debian's nginx (deploy/nginx.conf): the
    first owns the embedded PostgreSQL and Redis (and runs the workers), the others use
    them. `url` is nginx's; `runtime`, `postgres` and `app_pids` answer as for one Server."""

    url: str
    instances: list[Server]
    proxy_pid: int = 0

    def proxy_pids(self) -> list[int]:
        """nginx's master and workers (its CPU is part of serving through it)."""
        with contextlib.suppress(psutil.Error):
            master = psutil.Process(self.proxy_pid)
            return [master.pid, *[c.pid for c in master.children()]]
        return []

    def runtime(self) -> dict[str, Any]:
        return self.instances[0].runtime()

    def postgres(self) -> psutil.Process | None:
        return self.instances[0].postgres()

    def app_pids(self) -> list[int]:
        return [pid for instance in self.instances for pid in instance.app_pids()]


@contextlib.contextmanager
def nginx_cluster(instances: int = 2, **env: str) -> Iterator[Cluster]:
    """`instances` app instances on one embedded PostgreSQL and Redis, behind nginx."""
    from server.local_nginx import nginx_in_front_of

    shared = {**env, "forwarded_allow_ips": "*"}  # nginx sets X-Forwarded-For
    with contextlib.ExitStack() as stack:
        owner = stack.enter_context(embedded_server(**shared))
        while not (owner.data_dir / "runtime.json").exists():
            time.sleep(0.1)
        urls = owner.runtime()
        servers = [owner]
        for _ in range(instances - 1):
            data_dir = Path(tempfile.mkdtemp(prefix="eventapi-bench-"))
            stack.callback(shutil.rmtree, data_dir, True)
            port = free_port()
            environment = _bench_environment(
                data_dir,
                port,
                {
                    **shared,
                    "database_url": urls["database_url"],
                    "redis_url": urls["redis_url"],
                    "worker_in_process": "false",
                },
            )
            servers.append(stack.enter_context(_serving(environment, data_dir, port)))
        prefix = Path(tempfile.mkdtemp(prefix="eventapi-nginx-"))
        stack.callback(shutil.rmtree, prefix, True)
        upstreams = [s.url.removeprefix("http://") for s in servers]
        nginx = stack.enter_context(nginx_in_front_of(upstreams, prefix, free_port()))
        yield Cluster(nginx.url, servers, nginx.process.pid)


class Connection:
    """One keep-alive HTTP/1.1 connection: just enough of the protocol for JSON APIs."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    @classmethod
    def to(cls, url: str) -> Connection:
        """A connection to `http://host:port`."""
        host, port = url.removeprefix("http://").split(":")
        return cls(host, int(port))

    async def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        lines = [f"{method} {path} HTTP/1.1", f"host: {self.host}", f"content-length: {len(body)}"]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    async def graphql(
        self,
        query: str,
        variables: dict[str, Any],
        token: str | None = None,
        api_key: str | None = None,
    ) -> dict[str, Any]:
        headers = {"content-type": "application/json", "accept": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        if api_key:
            headers["x-api-key"] = api_key
        status, body = await self.request(
            "POST",
            "/graphql",
            json.dumps({"query": query, "variables": variables}).encode(),
            headers,
        )
        if status != 200:
            raise RuntimeError(f"HTTP {status}: {body[:300]!r}")
        return dict(json.loads(body))

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None


@dataclass
class Sampler:
    """Samples a process's resident memory (and its children's, optionally) in a thread."""

    pids: list[int]
    interval: float = 0.05
    peak_rss: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def peak_of(self, pids: list[int]) -> str:
        """The summed peak memory of `pids`, e.g. "peak server memory (3 processes): 414 MB"."""
        peak = sum(self.peak_rss.get(pid, 0) for pid in pids)
        processes = f"{len(pids)} process{'es' if len(pids) > 1 else ''}"
        return f"peak server memory ({processes}): {peak / 2**20:.0f} MB"

    def _run(self) -> None:
        processes = [psutil.Process(p) for p in self.pids]
        while not self._stop.is_set():
            for proc in processes:
                with contextlib.suppress(psutil.Error):
                    rss = proc.memory_info().rss
                    self.peak_rss[proc.pid] = max(self.peak_rss.get(proc.pid, 0), rss)
            time.sleep(self.interval)


def add_workers_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers", type=int, default=1, help="app processes (eventapi serve --workers)"
    )


def cpu_seconds(*pids: int) -> float:
    total = 0.0
    for pid in pids:
        with contextlib.suppress(psutil.Error):
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
    return total


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": at(0.50), "p95": at(0.95), "p99": at(0.99), "mean": statistics.fmean(ordered)}


@contextlib.contextmanager
def bare_endpoint() -> Iterator[str]:
    """A bare Starlette JSON endpoint under uvicorn (the ceiling of the HTTP stack this
    machine gives one Python process); yields its URL (`/json` answers any POST)."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "catalog_read.py"), "--serve-bare", str(port)],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
                break
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(30)


async def bare_rate(url: str, body: bytes, *, requests: int, concurrency: int) -> float:
    """Requests per second the bare endpoint answers to the same keep-alive client."""
    left = [requests]

    async def client() -> None:
        conn = Connection.to(url)
        try:
            while left[0] > 0:
                left[0] -= 1
                await conn.request("POST", "/json", body, {"content-type": "application/json"})
        finally:
            conn.close()

    started = time.perf_counter()
    await asyncio.gather(*[client() for _ in range(concurrency)])
    return requests / (time.perf_counter() - started)
