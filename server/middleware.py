"""ASGI middleware: a request id on every request (echoed in `X-Request-ID`, bound into
every log line), one structured access-log line, and HTTP metrics."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import orjson
import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server import metrics
from server.logging import request_id_var

log = structlog.get_logger("eventapi.access")
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
KNOWN_ROOTS = {
    "graphql",
    "health",
    "metrics",
    "auth",
    "webhooks",
    "tickets",
    "assets",
    "events",
    "reports",
}


def route_label(path: str) -> str:
    root = path.strip("/").split("/", 1)[0]
    return f"/{root}" if root in KNOWN_ROOTS else "other"


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, access_log: bool = True) -> None:
        self.app = app
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status: dict[str, Any] = {"code": 0}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            request_id_var.reset(token)
            if scope["type"] == "http":
                elapsed = time.perf_counter() - started
                route = route_label(scope["path"])
                metrics.http_requests.labels(route, scope["method"], str(status["code"])).inc()
                metrics.http_duration.labels(route, scope["method"]).observe(elapsed)
                if self.access_log and route not in ("/health", "/metrics"):
                    log.info(
                        "request",
                        request_id=request_id,
                        method=scope["method"],
                        path=scope["path"],
                        status=status["code"],
                        duration_ms=round(elapsed * 1000, 2),
                    )


# Not under the request gate: health probes and metrics (polled by load balancers and
# scrapers), payment providers' webhooks (verified by signature before any work; refusing
# one only delays a buyer's confirmation), the platform's static files, and /graphql, which
# calls the gate itself so the response cache is looked up in the same round trip.
UNGATED = ("/health", "/metrics", "/webhooks/", "/static/", "/graphql")
# Routes that read no bearer credentials: their budget is the client IP's (a client that
# refreshes its session often still holds its expired access token).
CREDENTIALS_IGNORED = ("/auth/refresh",)


class GateMiddleware:
    """Every other HTTP route: the caller is authenticated and spends its request budget
    (`server.gate`) before the route runs; refusals are JSON with a code, and every answer
    carries the RateLimit headers. The route finds the admission in
    `request.state.admission`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(UNGATED) or path == "/":
            await self.app(scope, receive, send)
            return
        from server.clock import utcnow
        from server.gate import Refused

        state = scope["app"].state.eventapi
        headers: dict[str, str] = {}
        if not path.startswith(CREDENTIALS_IGNORED):
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        client = scope.get("client")
        try:
            admission = await state.gate.admit(
                authorization=headers.get("authorization"),
                api_key=headers.get("x-api-key"),
                ip=client[0] if client else None,
                now=utcnow(),
            )
        except Refused as refused:
            body = orjson.dumps({"error": {"code": refused.code, "message": refused.message}})
            await send(
                {
                    "type": "http.response.start",
                    "status": refused.status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                        (b"cache-control", b"no-store"),
                        *[(k.lower().encode(), v.encode()) for k, v in refused.headers().items()],
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        scope.setdefault("state", {})["admission"] = admission
        rate_headers = [
            (k.lower().encode(), v.encode()) for k, v in admission.rate.headers().items()
        ]

        async def send_with_rate(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *rate_headers]
            await send(message)

        await self.app(scope, receive, send_with_rate)
