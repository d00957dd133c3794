"""A PostgreSQL or Redis server of a test's own (the embedded binaries, in a temporary
directory; Redis durable like production, on a short Unix socket path), for tests that
stop and start it under running code."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Protocol, TypeVar

from server.embedded import EmbeddedPostgres, EmbeddedRedis


class Startable(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


S = TypeVar("S", bound=Startable)


@contextmanager
def _own(prefix: str, make: Callable[[Path], S]) -> Iterator[S]:
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = make(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def own_redis_server() -> AbstractContextManager[EmbeddedRedis]:
    return _own("redis-", lambda root: EmbeddedRedis(root / "data", root, durable=True))


def own_postgres_server() -> AbstractContextManager[EmbeddedPostgres]:
    return _own("pg-", lambda root: EmbeddedPostgres(root / "data", root, durable=False))
