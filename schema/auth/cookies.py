from __future__ import annotations

from schema.context import Context, CookieToSet
from server.auth.csrf import cookie_request_allowed
from server.auth.flows import REFRESH_COOKIE
from server.auth.throttle import DEVICE_COOKIE
from server.errors import Forbidden


def _secure(context: Context) -> bool:
    configured = context.settings.cookie_secure
    if configured is not None:
        return configured
    return context.settings.is_production or context.connection.url.scheme == "https"


def set_refresh_cookie(context: Context, token: str) -> None:
    context.cookies.append(
        CookieToSet(
            REFRESH_COOKIE, token, context.settings.refresh_token_ttl, secure=_secure(context)
        )
    )


def set_device_cookie(context: Context, token: str) -> None:
    """The known-device token, sent back only to sign-ins (server.auth.throttle)."""
    context.cookies.append(
        CookieToSet(
            DEVICE_COOKIE,
            token,
            context.settings.login_device_ttl,
            path="/graphql",
            secure=_secure(context),
        )
    )


def read_device_cookie(context: Context) -> str | None:
    return context.connection.cookies.get(DEVICE_COOKIE)


def clear_refresh_cookie(context: Context) -> None:
    context.cookies.append(CookieToSet(REFRESH_COOKIE, "", 0, secure=_secure(context)))


def read_refresh_cookie(context: Context) -> str | None:
    """The refresh cookie, after the cross-site check (see server.auth.csrf)."""
    token = context.connection.cookies.get(REFRESH_COOKIE)
    if not token:
        return None
    url = context.connection.url
    if not cookie_request_allowed(
        context.connection.headers,
        own_origin=f"{url.scheme}://{url.netloc}",
        allowed=context.settings.allowed_origins,
    ):
        raise Forbidden("Cross-site use of the session cookie is not allowed.")
    return token
