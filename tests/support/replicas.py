"""A streaming replica of the test session's embedded PostgreSQL (`pg_basebackup -R` from the
same binaries), and waiting for what replication makes true eventually."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from server.embedded import EmbeddedPostgres
from server.embedded_replica import EmbeddedReplica
from tests.support.services import ServiceUrls

DEADLINE = 60.0  # seconds: generous on a loaded machine; the waits end as soon as they can


@contextmanager
def streaming_replica(services: ServiceUrls) -> Iterator[EmbeddedReplica]:
    if services.embedded is None:
        pytest.skip("replica tests stream from the embedded PostgreSQL; DATABASE_URL is set")
    root = Path(tempfile.mkdtemp(prefix="eventapi-replica-"))
    replica = EmbeddedReplica.of(services.embedded.postgres, root)
    replica.start()
    try:
        yield replica
    finally:
        replica.stop()
        shutil.rmtree(root, ignore_errors=True)


async def eventually(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """Until `check()` holds (replication and the lag monitor act in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.05)


async def caught_up(replica: EmbeddedReplica, primary: EmbeddedPostgres) -> None:
    """Until the replica has replayed everything the primary had written when called
    (asked of both servers directly, not through the app)."""
    target = int(primary.psql("SELECT pg_current_wal_insert_lsn() - '0/0'"))
    # An idle insert position at a page's start points past the page header.
    if target % 8192 == 24:
        target -= 24

    async def replayed() -> bool:
        done = await asyncio.to_thread(replica.psql, "SELECT pg_last_wal_replay_lsn() - '0/0'")
        return int(done) >= target

    await eventually(replayed, "the replica has replayed the primary's WAL")
