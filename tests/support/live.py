"""Real uvicorn servers in child processes, for tests that need real sockets: several app
instances sharing one database and Redis, concurrency through real HTTP, WebSockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def debian_binary(name: str) -> str | None:
    """A program from a Debian package (nginx, pgbouncer live in /usr/sbin, which is not on
    every user's PATH), or None when it is not installed."""
    import shutil

    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/bin")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def wait_ready(self, timeout: float = 120) -> None:
        """Generous: several servers start at once on a machine that may be busy."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health/ready", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self._log.close()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def live_servers(
    database_url: str, redis_url: str, tmp: Path, count: int = 1, **settings: str
) -> Iterator[list[LiveServer]]:
    """`count` app instances on one database and Redis. Extra keyword arguments become
    environment variables (settings), e.g. RATE_LIMIT_ANONYMOUS="5"."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DATA_DIR": str(tmp / "data"),
        "JWT_SECRET": "test-secret-test-secret-test-secret-0123",
        "BCRYPT_ROUNDS": "4",
        "LOG_LEVEL": "INFO",
        "WORKER_IN_PROCESS": "false",
        **{k.upper(): v for k, v in settings.items()},
    }
    servers = [LiveServer(env, free_port(), tmp / f"server{i}.log") for i in range(count)]
    try:
        for server in servers:
            server.wait_ready()
        yield servers
    finally:
        for server in servers:
            server.stop()
