"""Who is calling a REST endpoint: the same credentials, and the same answers to bad
ones, as /graphql (`Authorization: Bearer <token or API key>` or `X-API-Key`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.app_state import AppState
from server.auth.actor import Actor
from server.auth.authenticate import resolve_actor
from server.clock import utcnow


async def request_actor(request: Request) -> Actor:
    """Raises `AccessError` for credentials that do not check out."""
    state: AppState = request.app.state.eventapi
    return await resolve_actor(
        authorization=request.headers.get("authorization"),
        api_key=request.headers.get("x-api-key"),
        ip=request.client.host if request.client else None,
        db=state.db,
        redis=state.redis,
        settings=state.settings,
        now=utcnow(),
    )


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
