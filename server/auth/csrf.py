"""Cross-site protection for the one thing a cookie authenticates: the refresh token.

The cookie is SameSite=Strict already. On top, a cookie-authenticated request must come
from an allowed origin: its `Origin` header (browsers always send it on cross-origin and
POST requests) must be this server's own origin or one in ALLOWED_ORIGINS. Without an
Origin header the request must carry something a cross-site form cannot send: a JSON
content type or an `X-Requested-With` header."""

from __future__ import annotations

from collections.abc import Mapping


def cookie_request_allowed(
    headers: Mapping[str, str], *, own_origin: str, allowed: list[str]
) -> bool:
    origin = headers.get("origin")
    if origin is not None:
        return origin.rstrip("/") in {own_origin.rstrip("/"), *(o.rstrip("/") for o in allowed)}
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or "x-requested-with" in headers
