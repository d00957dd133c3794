"""`GET /assets/{id}`: an event asset's bytes, with the content type found when it was
uploaded (never guessed again), `nosniff`, and caching headers. Assets never change once
stored (a new upload is a new id), so a public asset is cacheable for a long time and
revalidates by its id as ETag."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.app_state import AppState
from server.clock import utcnow
from server.events.assets import asset_for_download
from server.events.errors import AssetNotFound
from server.ids import parse_uuid
from server.storage import storage_for

PUBLIC_CACHE = "public, max-age=86400"
PRIVATE_CACHE = "private, max-age=600"


def _not_found() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "NOT_FOUND", "message": "No such asset."}},
        status_code=404,
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
    )


async def serve_asset(request: Request) -> Response:
    state: AppState = request.app.state.eventapi
    asset_id = parse_uuid(request.path_params["asset_id"])
    if asset_id is None:
        return _not_found()
    try:
        async with state.db.read() as session:
            download = await asset_for_download(
                session,
                settings=state.settings,
                asset_id=asset_id,
                expires=request.query_params.get("expires"),
                signature=request.query_params.get("sig"),
                now=utcnow(),
            )
    except AssetNotFound:
        return _not_found()
    etag = f'"{asset_id}"'
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": PUBLIC_CACHE if download.public else PRIVATE_CACHE,
        "ETag": etag,
    }
    if download.filename:
        safe = download.filename.encode("ascii", "replace").decode().replace("?", "_")
        headers["Content-Disposition"] = f'inline; filename="{safe}"'
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    stored = await storage_for(state.settings).open(download.storage_key)
    if stored is None:
        return _not_found()
    headers["Content-Length"] = str(stored.size)
    return StreamingResponse(stored.chunks(), media_type=download.content_type, headers=headers)
