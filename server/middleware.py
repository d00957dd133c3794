"""ASGI middleware: a request id on every request (echoed in `X-Request-ID`, bound into
every log line), one structured access-log line, and HTTP metrics."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

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
