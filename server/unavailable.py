"""What a request gets while Redis cannot be reached (docs/redis-outage.md): HTTP 503 with
`Retry-After` and the code `SERVICE_UNAVAILABLE`, as JSON, never a plain-text 500.

Redis holds the rate limits, the session cache, the response and persisted-query caches
and the job queue, so a request that needs any of them cannot be answered correctly
without it; it is refused cleanly instead, at the edges (the GraphQL handler, and
`RedisOutageMiddleware` around everything else), and served again as soon as Redis
answers: redis-py reconnects on the next command, nothing needs restarting."""

from __future__ import annotations

import structlog
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import metrics
from server.middleware import route_label

log = structlog.get_logger("eventapi.unavailable")

REDIS_UNREACHABLE: tuple[type[BaseException], ...] = (RedisConnectionError, RedisTimeoutError)
CODE = "SERVICE_UNAVAILABLE"
RETRY_AFTER = 5  # seconds: about what a Redis restart or failover takes
MESSAGE = "The service is briefly unavailable; try again in a few seconds."
HEADERS = {"Retry-After": str(RETRY_AFTER), "Cache-Control": "no-store"}
WEBSOCKET_TRY_AGAIN_LATER = 1013


def caused_by_redis(exc: BaseException | None) -> bool:
    """Whether `exc`, or an exception it was raised from or during, is Redis being
    unreachable (a GraphQL error wraps the resolver's exception, SQLAlchemy and our own
    code may re-raise it)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, REDIS_UNREACHABLE):
            return True
        seen.add(id(exc))
        exc = getattr(exc, "original_error", None) or exc.__cause__ or exc.__context__
    return False


def refused(route: str) -> None:
    """Count (and log once per request) a request refused for want of Redis."""
    metrics.unavailable_responses.labels(route).inc()
    log.warning("redis unavailable; request refused with 503", route=route)


def rest_response(request_id: str | None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": CODE, "message": MESSAGE, "requestId": request_id}},
        status_code=503,
        headers=HEADERS,
    )


class RedisOutageMiddleware:
    """Turns a Redis outage escaping any route into the REST 503 (the GraphQL handler
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
            if started or not caused_by_redis(exc):
                raise
            refused(route_label(scope["path"]))
            if scope["type"] == "websocket":
                await send({"type": "websocket.close", "code": WEBSOCKET_TRY_AGAIN_LATER})
                return
            request_id = (scope.get("state") or {}).get("request_id")
            await rest_response(request_id)(scope, receive, send)
