"""The Starlette application factory: `/graphql` (HTTP and WebSocket), the REST shim,
`/health` and `/metrics`. A lifespan creates and closes the engine, Redis, the job pool
and (in the embedded default) the in-process workers; nothing connects at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from arq.connections import ArqRedis
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute, Route, WebSocketRoute

from server.app_state import AppState
from server.config import Settings
from server.db import Database
from server.effects import EffectRunner
from server.jobs.worker import WorkerGroup, build_workers
from server.live import hub as live_hub
from server.middleware import GateMiddleware, RequestContextMiddleware
from server.rest import assets as rest_assets
from server.rest import auth as rest_auth
from server.rest import dashboard_page, live_page, payment_webhooks, seat_page
from server.rest import health as rest_health
from server.rest import reports as rest_reports
from server.rest import static as rest_static
from server.rest import tickets as rest_tickets
from server.rest.metrics import metrics_endpoint
from server.tickets import keys as ticket_keys
from server.unavailable import REDIS_UNREACHABLE, OutageMiddleware

log = structlog.get_logger("eventapi.app")


def create_app(settings: Settings, *, run_worker: bool | None = None) -> Starlette:
    if not settings.database_url or not settings.redis_url:
        raise RuntimeError(
            "create_app needs DATABASE_URL and REDIS_URL (the CLI fills them when embedded)"
        )
    from server import domains

    domains.load()
    # The one place the server mounts the GraphQL layer.
    from schema.api import schema
    from schema.executor import Executor
    from schema.http import GraphQLHTTPHandler
    from schema.ws import WebSocketGraphQL

    worker_in_process = run_worker if run_worker is not None else bool(settings.worker_in_process)
    graphql_http = GraphQLHTTPHandler(Executor(schema._schema, settings))
    ticket_keys.configure(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        assert settings.database_url and settings.redis_url
        db = Database.from_settings(settings)
        redis = Redis.from_url(settings.redis_url)
        await db.start(redis)
        state = AppState(settings=settings, db=db, redis=redis)
        # Not arq's create_pool, which gives up (and so ends the app) when Redis is down:
        # the app starts anyway, answers 503 until Redis is reachable, then serves.
        state.queue = ArqRedis.from_url(settings.redis_url)
        await _check_redis(redis)
        EffectRunner(state).install(db)
        app.state.eventapi = state
        await live_hub.start(state)
        workers = WorkerGroup(build_workers(settings)) if worker_in_process else None
        if workers is not None:
            workers.start()
        log.info("app started", worker_in_process=worker_in_process)
        try:
            yield
        finally:
            if workers is not None:
                await workers.stop()
            await state.orders.close()
            await state.checkins.close()
            await live_hub.stop(state)
            await state.queue.aclose()
            await redis.aclose()
            await db.dispose()
            log.info("app stopped")

    routes: list[BaseRoute] = [
        Route("/graphql", graphql_http.handle, methods=["GET", "POST"]),
        WebSocketRoute("/graphql", WebSocketGraphQL(schema)),
        Route("/health", rest_health.health),
        Route("/health/live", rest_health.live),
        Route("/health/ready", rest_health.ready),
        Route("/metrics", metrics_endpoint),
        Route("/auth/refresh", rest_auth.refresh, methods=["POST"]),
        Route("/assets/{asset_id}", rest_assets.serve_asset, methods=["GET", "HEAD"]),
        *payment_webhooks.routes(),
        *rest_tickets.routes(),
        *rest_reports.routes(),
        *live_page.routes(),
        *seat_page.routes(),
        *dashboard_page.routes(),
        *rest_static.routes(),
    ]
    middleware = [
        Middleware(RequestContextMiddleware),
        Middleware(
            CORSMiddleware,
            allow_origins=settings.allowed_origins,
            allow_credentials=True,
            allow_methods=["GET", "POST"],
            allow_headers=[
                "authorization",
                "content-type",
                "x-api-key",
                "x-requested-with",
                "x-request-id",
            ],
            expose_headers=[
                "x-request-id",
                "ratelimit-limit",
                "ratelimit-remaining",
                "ratelimit-reset",
                "retry-after",
            ],
        ),
        Middleware(OutageMiddleware),
        Middleware(GateMiddleware),  # after CORS: preflights are answered before it
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lifespan)


async def _check_redis(redis: Redis) -> None:
    try:
        await redis.ping()
    except REDIS_UNREACHABLE as exc:
        log.warning(
            "redis unavailable at start; requests that need it are answered 503 until it is "
            "reachable",
            error=f"{type(exc).__name__}: {exc}",
        )


def app_from_environment() -> Starlette:
    """The app of one `eventapi serve --workers N` process: settings from the environment
    the serving parent prepared (its services are running and migrated)."""
    from server.cli import tune_gc
    from server.logging import configure_logging

    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    tune_gc()
    return app
