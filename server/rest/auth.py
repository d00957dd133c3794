"""`POST /auth/refresh`: the refresh-cookie exchange for clients that prefer REST to the
`refreshToken` mutation. Same flow, same cross-site check."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.app_state import AppState
from server.auth import flows
from server.auth.csrf import cookie_request_allowed
from server.auth.flows import REFRESH_COOKIE
from server.clock import utcnow
from server.errors import DomainError


def _secure(request: Request, state: AppState) -> bool:
    if state.settings.cookie_secure is not None:
        return state.settings.cookie_secure
    return state.settings.is_production or request.url.scheme == "https"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def refresh(request: Request) -> JSONResponse:
    state: AppState = request.app.state.eventapi
    url = request.url
    if not cookie_request_allowed(
        request.headers,
        own_origin=f"{url.scheme}://{url.netloc}",
        allowed=state.settings.allowed_origins,
    ):
        return _error(403, "FORBIDDEN", "Cross-site use of the session cookie is not allowed.")
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        return _error(401, "UNAUTHENTICATED", "No refresh cookie.")
    try:
        signed_in = await flows.refresh(
            state.db,
            state.redis,
            state.settings,
            refresh_token=token,
            now=utcnow(),
            user_agent=request.headers.get("user-agent"),
            ip=request.client.host if request.client else None,
        )
    except DomainError as exc:
        response = _error(401, "UNAUTHENTICATED", exc.message)
        response.delete_cookie(
            REFRESH_COOKIE,
            path="/",
            secure=_secure(request, state),
            httponly=True,
            samesite="strict",
        )
        return response
    response = JSONResponse(
        {
            "accessToken": signed_in.access_token,
            "expiresAt": signed_in.expires_at.isoformat(),
            "user": {
                "id": str(signed_in.user.id),
                "email": signed_in.user.email,
                "name": signed_in.user.name,
            },
        }
    )
    response.set_cookie(
        REFRESH_COOKIE,
        signed_in.refresh_token,
        max_age=state.settings.refresh_token_ttl,
        path="/",
        httponly=True,
        secure=_secure(request, state),
        samesite="strict",
    )
    return response
