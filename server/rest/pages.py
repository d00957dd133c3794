"""What the platform's HTML pages share: templates filled in one pass, JSON for a page's
script, and the headers every page is served with (a strict Content-Security-Policy:
scripts and styles only from this server, no inline code, no eval)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from starlette.responses import HTMLResponse, PlainTextResponse

HERE = Path(__file__).parent
MARKER = re.compile(r"\{\{([a-z_]+)\}\}")


def content_security_policy(*, nonce: str | None = None, images: str = "'self'") -> str:
    """`nonce` allows the page's own inline <script>/<style> (the live page); pages whose
    code is all in /static need none. `connect-src 'self'` covers the page's WebSocket."""
    sources = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
    return (
        f"default-src 'none'; script-src {sources}; style-src {sources}; "
        f"img-src {images}; font-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def page_headers(*, nonce: str | None = None, images: str = "'self'") -> dict[str, str]:
    return {
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Content-Security-Policy": content_security_policy(nonce=nonce, images=images),
    }


@cache
def template(name: str) -> str:
    return (HERE / name).read_text(encoding="utf-8")


def render(name: str, values: Mapping[str, str]) -> str:
    """The template with each `{{marker}}` replaced, in one pass, so text that came from
    an event can never be taken for a marker. Values are inserted as given: escape first."""
    return MARKER.sub(lambda m: values[m.group(1)], template(name))


def html_page(name: str, values: Mapping[str, str], **policy: str) -> HTMLResponse:
    return HTMLResponse(render(name, values), headers=page_headers(**policy))


def script_json(value: object) -> str:
    """JSON that cannot end the <script type="application/json"> element it sits in."""
    raw = orjson.dumps(value).decode()
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        raw = raw.replace(char, escaped)
    return raw.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# What slugify makes (server.events, server.organizations): anything else is no page, and
# is answered before it reaches a query (PostgreSQL text cannot even hold a NUL).
SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,94}[a-z0-9])?")


def is_slug(text: str) -> bool:
    return SLUG.fullmatch(text) is not None


def not_found(message: str) -> PlainTextResponse:
    return PlainTextResponse(message, status_code=404, headers={"Cache-Control": "no-store"})


def local_times(timezone: str, moments: Iterable[tuple[object, datetime]]) -> dict[str, str]:
    """Each moment as the event's local time for people ("Sat 05 Dec 2026, 19:30"), by
    its key as text; an unknown time zone falls back to UTC."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return {str(key): at.astimezone(zone).strftime("%a %d %b %Y, %H:%M") for key, at in moments}
