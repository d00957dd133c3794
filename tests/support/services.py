"""Real PostgreSQL and Redis for the test session: the URLs from DATABASE_URL/REDIS_URL if
set (they must point at disposable databases: tests truncate every table), otherwise
embedded servers in a fresh temporary directory, stopped and removed afterwards."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from server.embedded import EmbeddedServices


@dataclass(frozen=True)
class ServiceUrls:
    database_url: str
    redis_url: str
    embedded: EmbeddedServices | None = None


@contextmanager
def test_services() -> Iterator[ServiceUrls]:
    database_url = os.environ.get("DATABASE_URL")
    redis_url = os.environ.get("REDIS_URL")
    if database_url and redis_url:
        yield ServiceUrls(database_url, redis_url)
        return
    root = Path(tempfile.mkdtemp(prefix="eventapi-test-"))
    services = EmbeddedServices(root, durable=False)
    services.start()
    try:
        yield ServiceUrls(
            database_url or services.postgres.url,
            redis_url or services.redis.url,
            services,
        )
    finally:
        services.stop()
        shutil.rmtree(root, ignore_errors=True)
