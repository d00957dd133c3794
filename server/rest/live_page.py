"""`GET /events/{slug}/live`: a small page that shows each public ticket type's remaining
count and status, kept current over a WebSocket subscription (`ticketAvailability`).

Public events only: a draft, or no such event, is a 404. One HTML file, no build step:
the server fills in the names and dates, the page's script speaks graphql-transport-ws."""

from __future__ import annotations

import html
import re
import secrets
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from server.app_state import AppState
from server.errors import DomainError
from server.live.service import LivePage, live_page

TEMPLATE = Path(__file__).with_name("live_page.html")
MAX_SLUG = 96
MARKER = re.compile(r"\{\{(?:title|nonce|rows|data)\}\}")


def routes() -> list[BaseRoute]:
    return [Route("/events/{slug}/live", live_availability_page, methods=["GET", "HEAD"])]


@cache
def _template() -> str:
    return TEMPLATE.read_text(encoding="utf-8")


async def live_availability_page(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    if not slug or len(slug) > MAX_SLUG:
        return _not_found()
    state: AppState = request.app.state.eventapi
    try:
        async with state.db.read() as session:
            page = await live_page(session, slug=slug)
    except DomainError:
        return _not_found()
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(
        render(page, nonce),
        headers={
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": (
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
            ),
        },
    )


def _not_found() -> Response:
    return PlainTextResponse(
        "No such event.", status_code=404, headers={"Cache-Control": "no-store"}
    )


def render(page: LivePage, nonce: str) -> str:
    try:
        zone = ZoneInfo(page.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    dates = {
        str(d.id): d.starts_at.astimezone(zone).strftime("%a %d %b %Y, %H:%M") for d in page.dates
    }
    names = {str(t.id): t.name for t in page.ticket_types}
    rows = "".join(
        f'<tr data-key="{t}/{d}" data-ticket-type="{t}" data-occurrence="{d}">'
        f'<td class="date">{html.escape(date)}</td><td class="name">{html.escape(name)}</td>'
        '<td class="remaining">…</td><td class="status"></td></tr>'
        for d, date in dates.items()
        for t, name in names.items()
    )
    data = {"eventId": str(page.event_id), "ticketTypes": names, "dates": dates}
    replacements = {
        "{{title}}": html.escape(page.title),
        "{{nonce}}": nonce,
        "{{rows}}": rows,
        "{{data}}": _script_json(data),
    }
    # One pass, so text that came from the event can never be taken for a marker.
    return MARKER.sub(lambda m: replacements[m.group(0)], _template())


def _script_json(value: object) -> str:
    """JSON that cannot end the <script> element it sits in."""
    raw = orjson.dumps(value).decode()
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        raw = raw.replace(char, escaped)
    return raw.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
