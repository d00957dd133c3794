"""What a request gets while Redis or PostgreSQL cannot be reached (docs/redis-outage.md,
docs/database-outage.md): HTTP 503 with `Retry-After` and the code `SERVICE_UNAVAILABLE`,
as JSON, never a plain-text 500 or an `INTERNAL` error.

Redis holds the rate limits, the session cache, the response and persisted-query caches
and the job queue, and PostgreSQL everything else, so a request that needs either cannot
be answered correctly without it; it is refused cleanly instead, at the edges (the GraphQL
handler, and `OutageMiddleware` around everything else), and served again as soon as the
service answers: redis-py and the connection pool reconnect on their own, nothing needs
restarting."""

from __future__ import annotations

import asyncpg
import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import metrics
from server.middleware import route_label

log = structlog.get_logger("eventapi.unavailable")

REDIS_UNREACHABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
# What PostgreSQL raises mid-statement when it goes away or cannot take us: the connection
# lost (08xxx), shutting down or starting up (57P0x), out of connection slots.
POSTGRES_UNREACHABLE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
)
CODE = "SERVICE_UNAVAILABLE"
RETRY_AFTER = 5  # seconds: about what a Redis or PostgreSQL restart or failover takes
MESSAGE = "The service is briefly unavailable; try again in a few seconds."
HEADERS = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
WEBSOCKET_TRY_AGAIN_LATER = 1013


class DatabaseUnreachable(ConnectionError):
    """A new PostgreSQL connection could not be opened (refused, no socket, timed out,
    the server starting or stopping). Raised by the engine's connect hook
    (`server.db.make_engine`) from the socket error, so that an outage is told apart from
    any other `OSError`; a `ConnectionError`, so code that falls back from a replica on
    socket errors still does."""


# A pool with every connection busy for its whole timeout is an overload: answered alike.
DATABASE_UNREACHABLE: tuple[type[BaseException], ...] = (
    DatabaseUnreachable,
    PoolTimeout,
    *POSTGRES_UNREACHABLE,
)


def outage_of(exc: BaseException | None) -> str | None:
    """Which service being unreachable `exc`, or an exception it was raised from or during,
    comes from: "redis", "database" or None (a GraphQL error wraps the resolver's
    exception, SQLAlchemy and our own code may re-raise it)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, REDIS_UNREACHABLE):
            return "redis"
        if isinstance(exc, DATABASE_UNREACHABLE):
            return "database"
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            return "database"
        seen.add(id(exc))
        exc = getattr(exc, "original_error", None) or exc.__cause__ or exc.__context__
    return None


def caused_by_outage(exc: BaseException | None) -> bool:
    return outage_of(exc) is not None


def refused(route: str, exc: BaseException | None) -> None:
    """Count (and log once per request) a request refused for want of Redis or PostgreSQL."""
    service = outage_of(exc) or "unknown"
    metrics.unavailable_responses.labels(route).inc()
    log.warning(f"{service} unavailable; request refused with 503", route=route, service=service)


def rest_response(request_id: str | None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": CODE, "message": MESSAGE, "requestId": request_id}},
        status_code=503,
        headers=HEADERS,
    )


class OutageMiddleware:
    """Turns a Redis or PostgreSQL outage escaping any route into the REST 503 (the GraphQL handler
    answers its own, in its media type). A response already under way cannot be
    replaced; it is cut off, as for any other failure mid-response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] in ("http.response.start", "websocket.accept"):
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception as exc:
            if started or not caused_by_outage(exc):
                raise
            refused(route_label(scope["path"]), exc)
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": WEBSOCKET_TRY_AGAIN_LATER})
                return
            request_id = (scope.get("state") or {}).get("request_id")
            await rest_response(request_id)(scope, receive, send)
