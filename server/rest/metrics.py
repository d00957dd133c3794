"""`GET /metrics` in Prometheus format. Metrics name operations, routes and error rates,
so they are not for everyone: open in development, and in production only to a scraper
presenting METRICS_TOKEN as a bearer token (without one they are off). Anyone else gets
the 404 of a route that does not exist."""

from __future__ import annotations

import hmac

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from server.config import Settings


def may_scrape(settings: Settings, authorization: str | None) -> bool:
    token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
    if not token:
        return not settings.is_production
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


async def metrics_endpoint(request: Request) -> Response:
    settings: Settings = request.app.state.eventapi.settings
    if not may_scrape(settings, request.headers.get("authorization")):
        return PlainTextResponse("Not Found", status_code=404)
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
