"""`/health` (database, Redis and job queue; 200 or 503), `/health/live` (the process
answers) and `/health/ready` (database and Redis: what a load balancer should ask).

`/health` also lists the streaming replicas with their state (`ok`, `lagging`, `down`)
and lag. A replica that is down or late never makes the instance unhealthy: its reads go
to the primary."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.app_state import AppState
from server.jobs.queues import queue_health

CHECK_TIMEOUT = 2.0


async def _timed(check: Any) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        detail = await asyncio.wait_for(check, CHECK_TIMEOUT)
    except Exception as exc:  # any failure of a dependency is reported, not raised
        return {"ok": False, "error": type(exc).__name__}
    result = {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 2)}
    if isinstance(detail, dict):
        result.update(detail)
        result["ok"] = bool(detail.get("ok", True))
    return result


async def _database(state: AppState) -> None:
    async with state.db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _redis(state: AppState) -> None:
    await state.redis.ping()


async def health(request: Request) -> JSONResponse:
    state: AppState = request.app.state.eventapi
    database, redis, queue = await asyncio.gather(
        _timed(_database(state)), _timed(_redis(state)), _timed(queue_health(state))
    )
    checks = {"database": database, "redis": redis, "queue": queue}
    ok = all(c["ok"] for c in checks.values())
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
    if state.db.replicas is not None:
        body["replicas"] = state.db.replicas.describe()
    return JSONResponse(body, status_code=200 if ok else 503)


async def ready(request: Request) -> JSONResponse:
    state: AppState = request.app.state.eventapi
    database, redis = await asyncio.gather(_timed(_database(state)), _timed(_redis(state)))
    ok = database["ok"] and redis["ok"]
    return JSONResponse(
        {"status": "ok" if ok else "unavailable", "checks": {"database": database, "redis": redis}},
        status_code=200 if ok else 503,
    )


async def live(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})
