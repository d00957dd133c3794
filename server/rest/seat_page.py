"""`GET /events/{slug}/seats`: the seat picker of a public seated event. The page draws
each date's seat map from the `seatAvailability` subscription (every seat, then each
change, so seats others buy turn unavailable while the buyer looks), lets the buyer pick
seats, and checks out through the API: `createOrder` with `seatIds`, then the TEST
provider's payment where it is enabled. All code and styles come from /static."""

from __future__ import annotations

import html

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.app_state import AppState
from server.clock import utcnow
from server.errors import DomainError
from server.rest.pages import html_page, is_slug, local_times, not_found, script_json
from server.rest.static import static_url
from server.ticketing.picker import SeatPicker, seat_picker

NO_PICKER = "No such event, or it has no seats to choose."


def routes() -> list[BaseRoute]:
    return [Route("/events/{slug}/seats", seat_picker_page, methods=["GET", "HEAD"])]


async def seat_picker_page(request: Request) -> Response:
    slug = str(request.path_params["slug"])
    if not is_slug(slug):
        return not_found(NO_PICKER)
    state: AppState = request.app.state.eventapi
    try:
        async with state.db.read() as session:
            picker = await seat_picker(session, slug=slug, now=utcnow())
    except DomainError:
        return not_found(NO_PICKER)
    return html_page(
        "seat_page.html",
        {
            "title": html.escape(picker.title),
            "data": script_json(
                page_data(picker, test_payments=state.settings.test_payments_enabled)
            ),
            "icon": static_url("pages/icon.svg"),
            "base_css": static_url("pages/base.css"),
            "css": static_url("pages/seats.css"),
            "js": static_url("pages/seats.js"),
        },
    )


def page_data(picker: SeatPicker, *, test_payments: bool) -> dict[str, object]:
    return {
        "eventId": str(picker.event_id),
        "dates": local_times(picker.timezone, picker.dates),
        "ticketTypes": [
            {
                "id": str(t.id),
                "name": t.name,
                "price": t.price,
                "currency": t.currency,
                "sections": t.sections,
                "minPerOrder": t.min_per_order,
                "maxPerOrder": t.max_per_order,
            }
            for t in picker.ticket_types
        ],
        "testPayments": test_payments,
    }
