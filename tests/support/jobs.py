"""Running background jobs in tests: call a task function directly with a `JobContext`
built on the test app's state, run real ARQ workers (burst mode, in this process) until
the queues are empty, or run `eventapi worker` as a child process."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from redis.asyncio import Redis

from server.app_state import AppState
from server.config import Settings
from server.jobs import queues
from server.jobs.context import JobContext, new_http_client
from server.jobs.worker import WorkerGroup, build_workers
from tests.support.live import ROOT
from tests.support.services import ServiceUrls

TEST_JWT_SECRET = "test-secret-test-secret-test-secret-0123"  # as in tests/conftest.py


@asynccontextmanager
async def job_context(
    state: AppState, settings: Settings | None = None
) -> AsyncIterator[JobContext]:
    """A context like a worker's, on the test app's database and Redis (and `settings`,
    when a test needs others than the app's)."""
    used = (
        state
        if settings is None
        else AppState(settings=settings, db=state.db, redis=state.redis, queue=state.queue)
    )
    async with new_http_client(used.settings) as http:
        yield JobContext(state=used, http=http)


async def run_jobs(
    settings: Settings,
    redis: Redis,
    *,
    only: Sequence[str] = queues.QUEUES,
    rounds: int = 20,
    timeout: float = 60,
) -> None:
    """Run burst workers for `only` until every one of those queues is empty (a job on one
    queue may enqueue on another, hence the rounds)."""
    for _ in range(rounds):
        group = WorkerGroup(build_workers(settings, only=only, burst=True))
        await asyncio.wait_for(group.run_forever(), timeout)
        if all(await asyncio.gather(*(_empty(redis, q) for q in only))):
            return
    raise AssertionError(f"queues still busy after {rounds} rounds")


async def _empty(redis: Redis, queue: str) -> bool:
    return int(await redis.zcard(queue)) == 0


class WorkerProcess:
    """`eventapi worker` in a child process, on the test database and Redis."""

    def __init__(self, urls: ServiceUrls, tmp: Path, name: str = "worker", **settings: str) -> None:
        self.log_path = tmp / f"{name}.log"
        env = {
            **os.environ,
            "DATABASE_URL": urls.database_url,
            "REDIS_URL": urls.redis_url,
            "DATA_DIR": str(tmp / "data"),
            "JWT_SECRET": TEST_JWT_SECRET,
            "LOG_LEVEL": "INFO",
            "WEBHOOK_ALLOW_PRIVATE_URLS": "true",
            **{k.upper(): v for k, v in settings.items()},
        }
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "worker"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    async def wait_serving(self, redis: Redis, queue: str, timeout: float = 30) -> None:
        """Until the worker has reported on `queue` (its first poll)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while not await redis.exists(queues.health_key(queue)):
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log_text()[-3000:]}")
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"worker not serving: {self.log_text()[-3000:]}")
            await asyncio.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: no cleanup at all, as when a machine dies."""
        self.process.kill()
        self.process.wait(10)

    def stop(self, timeout: float = 20) -> int:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self._log.close()
        return int(self.process.returncode)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def emitted_id(emitted: object) -> str:
    """The event id from what `server.outbox.service.emit` returned (the row or its id)."""
    return str(getattr(emitted, "id", emitted))
