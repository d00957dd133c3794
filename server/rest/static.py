"""`GET /static/{path}`: the pages' own scripts and styles and the vendored libraries
(GraphiQL, React), served from the package itself, so every page works offline.

Pages link each file through `static_url`, which appends the file's digest
(`/static/pages/seats.js?v=<digest>`). A request carrying the current digest may be cached
for a year (`immutable`): a changed file gets a new URL. Any other request is served
`no-cache`, with the digest as ETag, so it revalidates. Only the files found under
`server/static` with a known type are served; nothing outside that list is reachable, so
no path can climb out of the folder. Text files are gzipped once, in memory, for clients
that accept it (GraphiQL's bundle is 3.5 MB, 0.8 MB gzipped)."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

ROOT = Path(__file__).resolve().parent.parent / "static"
PREFIX = "/static/"
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "public, no-cache"
TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
}
LICENCE_NAMES = {"LICENSE", "LICENCE", "NOTICE"}
COMPRESSIBLE = ("text/", "image/svg+xml")


@dataclass
class StaticFile:
    body: bytes
    content_type: str
    digest: str
    gzipped: bytes | None = field(default=None, repr=False)

    @property
    def compressible(self) -> bool:
        return self.content_type.startswith(COMPRESSIBLE) and len(self.body) > 1024


def _content_type(path: Path) -> str | None:
    if path.name in LICENCE_NAMES:
        return "text/plain; charset=utf-8"
    return TYPES.get(path.suffix)


@cache
def bundle() -> dict[str, StaticFile]:
    """Every servable file by its path under `server/static`, read once per process."""
    files: dict[str, StaticFile] = {}
    for path in sorted(ROOT.rglob("*")):
        content_type = _content_type(path) if path.is_file() else None
        if content_type is None:
            continue
        body = path.read_bytes()
        digest = hashlib.sha256(body).hexdigest()[:16]
        files[path.relative_to(ROOT).as_posix()] = StaticFile(body, content_type, digest)
    return files


def static_url(path: str) -> str:
    """The URL a page links `path` (relative to `server/static`) by; an unknown path is a
    programming error, caught by the page's first test."""
    return f"{PREFIX}{path}?v={bundle()[path].digest}"


def routes() -> list[BaseRoute]:
    return [Route(PREFIX + "{path:path}", serve_static, methods=["GET", "HEAD"])]


async def serve_static(request: Request) -> Response:
    found = bundle().get(str(request.path_params["path"]))
    if found is None:
        return PlainTextResponse(
            "No such file.",
            status_code=404,
            headers={"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"},
        )
    etag = f'"{found.digest}"'
    current = request.query_params.get("v") == found.digest
    headers = {
        "Cache-Control": IMMUTABLE if current else REVALIDATE,
        "ETag": etag,
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Vary": "Accept-Encoding",
    }
    if etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    body = found.body
    if found.compressible and _accepts_gzip(request.headers.get("accept-encoding")):
        if found.gzipped is None:
            found.gzipped = await run_in_threadpool(gzip.compress, found.body, 6, mtime=0)
        body = found.gzipped
        headers["Content-Encoding"] = "gzip"
    return Response(body, headers=headers, media_type=found.content_type)


def _etags(header: str | None) -> set[str]:
    if not header:
        return set()
    return {tag.strip().removeprefix("W/") for tag in header.split(",")}


def _accepts_gzip(header: str | None) -> bool:
    for part in (header or "").split(","):
        name, _, params = part.strip().partition(";")
        if name.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False
