"""Event assets: images, PDFs, videos and seatmap renders.

An upload is trusted for nothing: its type is read from its first bytes (magic numbers)
and must match both the kind asked for and whatever the client claimed (the part's
Content-Type and the file name's extension). Sizes are bounded per kind. Only after every
check passes is a byte stored, so a refused upload leaves nothing behind.

Assets of public events (see `workflow.is_public`) are served to anyone; a draft's
only through a signed URL that expires, handed to members in `EventAsset.url`."""

from __future__ import annotations

import base64
import hashlib
import hmac
import mimetypes
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from server.auth.actor import Actor
from server.config import Settings
from server.events.access import event_for_write
from server.events.cache import record_event_change
from server.events.errors import AssetNotFound, EventClosed, FileTooLarge, UnsupportedFile
from server.events.models import AssetKind, Event, EventAsset
from server.events.workflow import OPEN_STATUSES, is_public
from server.ids import new_id
from server.numbers import whole_number
from server.storage import Storage

MAX_ASSETS_PER_EVENT = 50
SIGNED_URL_TTL = 3600
SIGNED_URL_GRANULARITY = 600  # expiry rounded up, so a URL stays the same for a while

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/webp", "image/gif"})
ALLOWED_TYPES: dict[AssetKind, frozenset[str]] = {
    AssetKind.IMAGE: IMAGE_TYPES,
    AssetKind.SEATMAP_RENDER: IMAGE_TYPES,
    AssetKind.PDF: frozenset({"application/pdf"}),
    AssetKind.VIDEO: frozenset({"video/mp4", "video/webm"}),
}
ALIASES = {
    "image/jpg": "image/jpeg",
    "image/pjpeg": "image/jpeg",
    "application/x-pdf": "application/pdf",
}
# ISO base media brands that are MP4 video (not HEIC/AVIF images, not QuickTime).
MP4_BRANDS = frozenset(
    {
        b"isom",
        b"iso2",
        b"iso4",
        b"iso5",
        b"iso6",
        b"mp41",
        b"mp42",
        b"avc1",
        b"M4V ",
        b"dash",
        b"mmp4",
    }
)
GENERIC_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})


def sniff(data: bytes) -> str | None:
    """The media type the bytes really are, among those we accept."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if len(data) >= 12 and data[4:8] == b"ftyp" and data[8:12] in MP4_BRANDS:
        return "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    return None


def _normalize(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    return ALIASES.get(media, media)


@dataclass(frozen=True, slots=True)
class AssetLimits:
    image: int
    seatmap_render: int
    pdf: int
    video: int

    @classmethod
    def from_settings(cls, settings: Settings) -> AssetLimits:
        return cls(
            image=settings.asset_max_image_size,
            seatmap_render=settings.asset_max_seatmap_render_size,
            pdf=settings.asset_max_pdf_size,
            video=settings.asset_max_video_size,
        )

    def of(self, kind: AssetKind) -> int:
        return int(getattr(self, kind.value))


def check_upload(
    kind: AssetKind,
    data: bytes,
    *,
    declared_type: str | None,
    filename: str | None,
    limits: AssetLimits,
) -> str:
    """The stored content type, or a coded error for an unfit file."""
    limit = limits.of(kind)
    if len(data) > limit:
        raise FileTooLarge(f"{kind.name} files are at most {limit // 1_000_000} MB.", field="file")
    if not data:
        raise UnsupportedFile("The file is empty.", field="file")
    actual = sniff(data)
    allowed = ALLOWED_TYPES[kind]
    if actual is None or actual not in allowed:
        names = ", ".join(sorted(t.split("/")[1].upper() for t in allowed))
        raise UnsupportedFile(f"A {kind.name} must be one of: {names}.", field="file")
    claimed = _normalize(declared_type)
    if claimed not in GENERIC_TYPES and claimed != actual:
        raise UnsupportedFile(
            f"The file was sent as {claimed} but its contents are {actual}.", field="file"
        )
    guessed = _normalize(mimetypes.guess_type(filename or "")[0])
    if guessed and guessed != actual and guessed not in GENERIC_TYPES:
        raise UnsupportedFile(
            f"The file name says {guessed} but its contents are {actual}.", field="file"
        )
    return actual


def _clean_filename(filename: str | None) -> str | None:
    if not filename:
        return None
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable() and c not in '"')
    return name[:255] or None


async def add_event_asset(
    session: AsyncSession,
    *,
    actor: Actor,
    storage: Storage,
    limits: AssetLimits,
    event_id: uuid.UUID,
    kind: AssetKind,
    data: bytes,
    declared_type: str | None,
    filename: str | None,
    now: datetime,
) -> Event:
    event, _ = await event_for_write(session, actor, event_id, field="eventId")
    if event.status not in OPEN_STATUSES:
        raise EventClosed()
    content_type = check_upload(
        kind, data, declared_type=declared_type, filename=filename, limits=limits
    )
    count = await session.scalar(
        select(func.count()).select_from(EventAsset).where(EventAsset.event_id == event.id)
    )
    if (count or 0) >= MAX_ASSETS_PER_EVENT:
        raise FileTooLarge(f"An event has at most {MAX_ASSETS_PER_EVENT} assets.", field="file")
    asset_id = new_id()
    key = f"events/{event.id}/{asset_id}"
    await storage.put(key, data, content_type=content_type)
    try:
        session.add(
            EventAsset(
                id=asset_id,
                event_id=event.id,
                organization_id=event.organization_id,
                kind=kind,
                content_type=content_type,
                size=len(data),
                filename=_clean_filename(filename),
                storage_key=key,
            )
        )
        await session.flush()
    except BaseException:
        await storage.delete(key)
        raise
    record_event_change(session, event.id)
    return event


# ---- serving


def _signing_key(settings: Settings) -> bytes:
    return hmac.new(settings.jwt_key.encode(), b"eventapi asset url v1", hashlib.sha256).digest()


def _signature(settings: Settings, asset_id: uuid.UUID, expires: int) -> str:
    mac = hmac.new(_signing_key(settings), f"{asset_id}:{expires}".encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()[:18]).decode()


def asset_path(settings: Settings, asset_id: uuid.UUID, *, public: bool, now: datetime) -> str:
    """The asset's URL path: plain for public events, signed and expiring otherwise."""
    if public:
        return f"/assets/{asset_id}"
    expires = int(now.timestamp()) + SIGNED_URL_TTL
    expires += -expires % SIGNED_URL_GRANULARITY
    return f"/assets/{asset_id}?expires={expires}&sig={_signature(settings, asset_id, expires)}"


def asset_url(settings: Settings, asset_id: uuid.UUID, *, public: bool, now: datetime) -> str:
    return settings.base_url + asset_path(settings, asset_id, public=public, now=now)


@dataclass(frozen=True, slots=True)
class Download:
    storage_key: str
    content_type: str
    filename: str | None
    public: bool


async def asset_for_download(
    session: AsyncSession,
    *,
    settings: Settings,
    asset_id: uuid.UUID,
    expires: str | None,
    signature: str | None,
    now: datetime,
) -> Download:
    """What to send for GET /assets/{id}; AssetNotFound (404) for a draft's asset without
    a valid, unexpired signature, the same as for an asset that does not exist."""
    row = (
        await session.execute(
            select(EventAsset, Event.status, Event.published_at)
            .join(Event, Event.id == EventAsset.event_id)
            .where(EventAsset.id == asset_id)
        )
    ).first()
    if row is None:
        raise AssetNotFound()
    asset, status, published_at = row
    public = is_public(status, published_at)
    if not public:
        expiry = whole_number(expires, max_digits=12)
        if expiry is None or not signature:
            raise AssetNotFound()
        valid = hmac.compare_digest(signature, _signature(settings, asset_id, expiry))
        if not valid or expiry < now.timestamp():
            raise AssetNotFound()
    return Download(asset.storage_key, asset.content_type, asset.filename, public)
