"""QR code images of a ticket's payload (segno). Rendering is CPU work: callers on the
event loop run these in a thread (`render_qr`)."""

from __future__ import annotations

import io
from typing import Literal

import segno
from starlette.concurrency import run_in_threadpool

ImageKind = Literal["svg", "png"]
CONTENT_TYPES: dict[ImageKind, str] = {"svg": "image/svg+xml", "png": "image/png"}

# Medium error correction survives a scuffed phone screen or a creased printout; a
# scale of 8 pixels per module keeps the PNG sharp on print without being large.
ERROR_CORRECTION = "m"
PNG_SCALE = 8
SVG_SCALE = 4
BORDER = 4


def qr_svg(payload: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error=ERROR_CORRECTION, micro=False).save(
        buffer, kind="svg", scale=SVG_SCALE, border=BORDER, xmldecl=False, title="Ticket QR code"
    )
    return buffer.getvalue()


def qr_png(payload: str) -> bytes:
    buffer = io.BytesIO()
    segno.make(payload, error=ERROR_CORRECTION, micro=False).save(
        buffer, kind="png", scale=PNG_SCALE, border=BORDER
    )
    return buffer.getvalue()


async def render_qr(payload: str, kind: ImageKind) -> bytes:
    return await run_in_threadpool(qr_svg if kind == "svg" else qr_png, payload)
