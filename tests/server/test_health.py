"""`/health` (database, Redis, queue: 200 or 503), `/health/ready`, `/health/live`."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.config import Settings
from server.embedded import EmbeddedRedis


@asynccontextmanager
async def app_client(settings: Settings, *, run_worker: bool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, run_worker=run_worker)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield c


async def health_when(
    client: httpx.AsyncClient, path: str, status: int, attempts: int = 200
) -> httpx.Response:
    """The first response with `status` (workers report on their queues shortly after
    they start; a bounded poll, not a timing)."""
    for _ in range(attempts):
        response = await client.get(path)
        if response.status_code == status:
            return response
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} never answered {status}: {response.text}")


@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
async def test_health_is_200_when_database_redis_and_workers_are_up(
    make_settings: Callable[..., Settings],
) -> None:
    async with app_client(make_settings(), run_worker=True) as client:
        response = await health_when(client, "/health", 200)

    body = response.json()
    assert body["status"] == "ok"
    checks = body["checks"]
    assert set(checks) == {"database", "redis", "queue"}
    assert all(check["ok"] for check in checks.values())
    assert all(isinstance(check["latency_ms"], float) for check in checks.values())
    assert set(checks["queue"]["queues"]) == {"mail", "webhooks", "maintenance", "reports"}
    assert all(q["worker"] for q in checks["queue"]["queues"].values())


async def test_health_is_503_when_no_worker_serves_the_queues(
    client: httpx.AsyncClient,
) -> None:
    health = await client.get("/health")
    ready = await client.get("/health/ready")

    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    checks = health.json()["checks"]
    assert checks["database"]["ok"] and checks["redis"]["ok"]
    assert checks["queue"]["ok"] is False
    # Readiness asks only what serving requests needs.
    assert ready.status_code == 200


async def test_a_database_that_cannot_be_reached_is_503(
    make_settings: Callable[..., Settings],
) -> None:
    broken = make_settings(
        database_url="postgresql+asyncpg://postgres@/nope?host=/nonexistent-socket-dir"
    )
    async with app_client(broken, run_worker=False) as client:
        health = await client.get("/health")
        ready = await client.get("/health/ready")
        live = await client.get("/health/live")

    assert health.status_code == 503
    database = health.json()["checks"]["database"]
    assert database["ok"] is False
    assert set(database) == {"ok", "error"}
    assert "nonexistent" not in health.text
    assert health.json()["checks"]["redis"]["ok"] is True
    assert ready.status_code == 503
    assert live.status_code == 200


@asynccontextmanager
async def own_redis() -> AsyncIterator[EmbeddedRedis]:
    root = Path(tempfile.mkdtemp(prefix="eventapi-redis-"))
    redis = EmbeddedRedis(root / "redis", root / "run", durable=False)
    redis.start()
    try:
        yield redis
    finally:
        redis.stop()
        shutil.rmtree(root, ignore_errors=True)


async def test_redis_going_away_is_503_and_coming_back_is_200(
    make_settings: Callable[..., Settings],
) -> None:
    async with own_redis() as redis:
        settings = make_settings(redis_url=redis.url)
        async with app_client(settings, run_worker=False) as client:
            before = await client.get("/health/ready")
            redis.stop()
            during = await client.get("/health")
            ready_during = await client.get("/health/ready")
            redis.start()
            after = await health_when(client, "/health/ready", 200)

    assert before.status_code == 200
    assert during.status_code == 503
    checks: dict[str, Any] = during.json()["checks"]
    assert checks["redis"]["ok"] is False and checks["queue"]["ok"] is False
    assert checks["database"]["ok"] is True
    assert ready_during.status_code == 503
    assert after.json()["checks"]["redis"]["ok"] is True
