"""Who is calling a REST endpoint: the same credentials, and the same answers to bad
ones, as /graphql (`Authorization: Bearer <token or API key>` or `X-API-Key`), checked by
the request gate before the route runs (`server.middleware.GateMiddleware`)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.auth.actor import Actor
from server.gate import Admission


def request_actor(request: Request) -> Actor:
    admission: Admission = request.state.admission
    return admission.actor


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)
