"""Ticket images and the key that verifies ticket codes.

- `GET /tickets/{id}/qr.svg` and `/qr.png`: the ticket's QR code, for its holder and its
  organization's staff (Bearer token or API key). No credentials: 401. Anyone else, or
  no such ticket: 404, the same answer, so nothing leaks. `Cache-Control: private,
  no-store`: the image admits someone to an event and must not sit in shared caches.
- `GET /tickets/signing-key`: the Ed25519 public key (PEM and raw base64url) a scanner
  needs to verify codes offline (see docs/tickets.md). Public and cacheable."""

from __future__ import annotations

import base64

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from server.app_state import AppState
from server.ids import parse_uuid
from server.rest.access import request_actor
from server.tickets import qr
from server.tickets.errors import TicketNotFound
from server.tickets.images import CONTENT_TYPES, ImageKind, render_qr
from server.tickets.service import ticket_for_viewer

PRIVATE_IMAGE = "private, no-store"
PUBLIC_KEY_CACHE = "public, max-age=3600"


def routes() -> list[BaseRoute]:
    return [
        Route("/tickets/signing-key", signing_key, methods=["GET"]),
        Route("/tickets/{ticket_id}/qr.svg", qr_svg, methods=["GET"]),
        Route("/tickets/{ticket_id}/qr.png", qr_png, methods=["GET"]),
    ]


def _error(status: int, code: str, message: str) -> JSONResponse:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


async def qr_svg(request: Request) -> Response:
    return await _qr_image(request, "svg")


async def qr_png(request: Request) -> Response:
    return await _qr_image(request, "png")


async def _qr_image(request: Request, kind: ImageKind) -> Response:
    state: AppState = request.app.state.eventapi
    actor = request_actor(request)
    if actor.is_anonymous:
        return _error(401, "UNAUTHENTICATED", "Sign in (or send an API key) to see a ticket.")
    ticket_id = parse_uuid(request.path_params["ticket_id"])
    if ticket_id is None:
        return _error(404, "NOT_FOUND", TicketNotFound.message)
    try:
        async with state.db.read() as session:
            ticket = await ticket_for_viewer(session, actor=actor, ticket_id=ticket_id)
            payload = ticket.qr_payload
    except TicketNotFound:
        return _error(404, "NOT_FOUND", TicketNotFound.message)
    image = await render_qr(payload, kind)
    return Response(
        image,
        media_type=CONTENT_TYPES[kind],
        headers={
            "Cache-Control": PRIVATE_IMAGE,
            "X-Content-Type-Options": "nosniff",
            "Content-Disposition": f'inline; filename="ticket-{ticket_id}.{kind}"',
            "Content-Security-Policy": "default-src 'none'",
        },
    )


async def signing_key(request: Request) -> Response:
    state: AppState = request.app.state.eventapi
    key = state.settings.ticket_signing_key
    raw = qr.public_key_raw(key)
    return JSONResponse(
        {
            "algorithm": "Ed25519",
            "format": qr.VERSION,
            "publicKey": base64.urlsafe_b64encode(raw).decode().rstrip("="),
            "pem": qr.public_key_pem(key),
        },
        headers={"Cache-Control": PUBLIC_KEY_CACHE},
    )
