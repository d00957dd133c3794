"""`GET /reports/{id}/download`: a finished report's file, for the organization's managers."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from server.app_state import AppState
from server.errors import AccessError, DomainError
from server.ids import parse_uuid
from server.reports.models import ReportStatus
from server.reports.service import get_report
from server.rest.access import error, request_actor
from server.storage import storage_for


def routes() -> list[BaseRoute]:
    return [Route("/reports/{report_id}/download", download, methods=["GET"])]


async def download(request: Request) -> Response:
    state: AppState = request.app.state.eventapi
    actor = request_actor(request)
    if actor.is_anonymous:
        return error(401, "UNAUTHENTICATED", "Sign in (or send an API key) to download reports.")
    report_id = parse_uuid(request.path_params["report_id"])
    if report_id is None:
        return error(404, "NOT_FOUND", "No such report.")
    try:
        async with state.db.read() as session:
            report = await get_report(session, actor=actor, report_id=report_id)
    except AccessError as refused:
        return error(403, refused.code, refused.message)
    except DomainError as missing:
        return error(404, "NOT_FOUND", missing.message)
    if report.status is not ReportStatus.DONE or report.storage_key is None:
        return error(
            409, "INVALID_STATE", f"The report is {report.status.value}; try again when it is done."
        )
    stored = await storage_for(state.settings).open(report.storage_key)
    if stored is None:
        return error(404, "NOT_FOUND", "The report's file is gone; request it again.")
    filename = f"{report.kind.value.replace('_', '-')}-{report.event_id}.csv"
    return StreamingResponse(
        stored.chunks(),
        media_type=report.content_type or "text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(stored.size),
            "Cache-Control": "private, no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
