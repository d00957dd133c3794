"""`GET /events/{slug}/live`: a small page that shows each public ticket type's remaining
count and status, kept current over a WebSocket subscription (`ticketAvailability`).

Public events only: a draft, or no such event, is a 404. One HTML file, no build step:
the server fills in the names and dates, the page's script speaks graphql-transport-ws."""

from __future__ import annotations

import html
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from server.app_state import AppState
from server.errors import DomainError
from server.live.service import LivePage, live_page
from server.rest.pages import is_slug, local_times, not_found, page_headers, render, script_json


def routes() -> list[BaseRoute]:
    return [Route("/events/{slug}/live", live_availability_page, methods=["GET", "HEAD"])]


async def live_availability_page(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    if not is_slug(slug):
        return not_found("No such event.")
    state: AppState = request.app.state.eventapi
    try:
        async with state.db.read() as session:
            page = await live_page(session, slug=slug)
    except DomainError:
        return not_found("No such event.")
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(render_page(page, nonce), headers=page_headers(nonce=nonce))


def render_page(page: LivePage, nonce: str) -> str:
    dates = local_times(page.timezone, ((d.id, d.starts_at) for d in page.dates))
    names = {str(t.id): t.name for t in page.ticket_types}
    rows = "".join(
        f'<tr data-key="{t}/{d}" data-ticket-type="{t}" data-occurrence="{d}">'
        f'<td class="date">{html.escape(date)}</td><td class="name">{html.escape(name)}</td>'
        '<td class="remaining">…</td><td class="status"></td></tr>'
        for d, date in dates.items()
        for t, name in names.items()
    )
    data = {"eventId": str(page.event_id), "ticketTypes": names, "dates": dates}
    return render(
        "live_page.html",
        {"title": html.escape(page.title), "nonce": nonce, "rows": rows, "data": script_json(data)},
    )
