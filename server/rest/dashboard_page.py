"""`GET /organizations/{organization}/events/{event}/dashboard`: the organizer's live
dashboard of one event (sales over time, revenue, sell-through per ticket type, check-ins,
the waitlist), kept current by the `eventAnalytics` subscription.

The server sends the same page for any well-formed pair of slugs and reads nothing: the
page signs in (the refresh cookie, or the login form), and the API decides what the
viewer may see, so a non-member learns nothing, not even whether the event exists."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from server.rest.pages import html_page, is_slug, not_found, script_json
from server.rest.static import static_url


def routes() -> list[BaseRoute]:
    return [
        Route(
            "/organizations/{organization}/events/{event}/dashboard",
            dashboard_page,
            methods=["GET", "HEAD"],
        )
    ]


async def dashboard_page(request: Request) -> Response:
    organization = str(request.path_params["organization"])
    event = str(request.path_params["event"])
    if not (is_slug(organization) and is_slug(event)):
        return not_found("No such page.")
    response = html_page(
        "dashboard_page.html",
        {
            "icon": static_url("pages/icon.svg"),
            "base_css": static_url("pages/base.css"),
            "css": static_url("pages/dashboard.css"),
            "js": static_url("pages/dashboard.js"),
            "data": script_json({"organization": organization, "event": event}),
        },
    )
    response.headers["Cache-Control"] = "no-store"
    return response
