"""Plain, immutable views of catalog rows, and the public event bundle built from them.

Loaders return these records and the cache stores the bundle as JSON; the GraphQL layer
reads both the same way. Records hold only what a reader may see once the service has
decided the reader may see the event."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from server.events.models import AssetKind, Event, EventAsset, EventOccurrence, EventStatus
from server.organizations.models import Organization
from server.venues.models import Venue

BUNDLE_VERSION = 1


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


def _uuid_or_none(value: Any) -> uuid.UUID | None:
    return None if value is None else _uuid(value)


def _dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value)


def _dt_or_none(value: Any) -> datetime | None:
    return None if value is None else _dt(value)


@dataclass(frozen=True, slots=True)
class EventRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    venue_id: uuid.UUID | None
    seatmap_id: uuid.UUID | None
    seatmap_name: str | None
    slug: str
    title: str
    description: str | None
    status: EventStatus
    timezone: str
    refund_policy: str | None
    transfer_allowed: bool
    cancellation_policy: str | None
    refund_deadline_hours: int | None
    first_starts_at: datetime | None
    last_starts_at: datetime | None
    published_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: str | None

    @classmethod
    def from_model(cls, m: Event) -> EventRecord:
        return cls(
            id=m.id,
            organization_id=m.organization_id,
            venue_id=m.venue_id,
            seatmap_id=m.seatmap_id,
            seatmap_name=m.seatmap_name,
            slug=m.slug,
            title=m.title,
            description=m.description,
            status=m.status,
            timezone=m.timezone,
            refund_policy=m.refund_policy,
            transfer_allowed=m.transfer_allowed,
            cancellation_policy=m.cancellation_policy,
            refund_deadline_hours=m.refund_deadline_hours,
            first_starts_at=m.first_starts_at,
            last_starts_at=m.last_starts_at,
            published_at=m.published_at,
            cancelled_at=m.cancelled_at,
            cancel_reason=m.cancel_reason,
        )

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> EventRecord:
        return cls(
            **{
                **d,
                "id": _uuid(d["id"]),
                "organization_id": _uuid(d["organization_id"]),
                "venue_id": _uuid_or_none(d["venue_id"]),
                "seatmap_id": _uuid_or_none(d["seatmap_id"]),
                "status": EventStatus(d["status"]),
                "first_starts_at": _dt_or_none(d["first_starts_at"]),
                "last_starts_at": _dt_or_none(d["last_starts_at"]),
                "published_at": _dt_or_none(d["published_at"]),
                "cancelled_at": _dt_or_none(d["cancelled_at"]),
            }
        )


@dataclass(frozen=True, slots=True)
class VenueRecord:
    id: uuid.UUID
    organization_id: uuid.UUID
    name: str
    address: str | None
    timezone: str

    @classmethod
    def from_model(cls, m: Venue) -> VenueRecord:
        return cls(m.id, m.organization_id, m.name, m.address, m.timezone)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> VenueRecord:
        return cls(
            _uuid(d["id"]), _uuid(d["organization_id"]), d["name"], d["address"], d["timezone"]
        )


@dataclass(frozen=True, slots=True)
class OccurrenceRecord:
    id: uuid.UUID
    event_id: uuid.UUID
    starts_at: datetime
    ends_at: datetime
    capacity: int | None

    @classmethod
    def from_model(cls, m: EventOccurrence) -> OccurrenceRecord:
        return cls(m.id, m.event_id, m.starts_at, m.ends_at, m.capacity)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OccurrenceRecord:
        return cls(
            _uuid(d["id"]),
            _uuid(d["event_id"]),
            _dt(d["starts_at"]),
            _dt(d["ends_at"]),
            d["capacity"],
        )


@dataclass(frozen=True, slots=True)
class AssetRecord:
    id: uuid.UUID
    event_id: uuid.UUID
    kind: AssetKind
    content_type: str
    size: int
    filename: str | None

    @classmethod
    def from_model(cls, m: EventAsset) -> AssetRecord:
        return cls(m.id, m.event_id, m.kind, m.content_type, m.size, m.filename)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> AssetRecord:
        return cls(
            _uuid(d["id"]),
            _uuid(d["event_id"]),
            AssetKind(d["kind"]),
            d["content_type"],
            d["size"],
            d["filename"],
        )


@dataclass(frozen=True, slots=True)
class OrganizationRecord:
    id: uuid.UUID
    name: str
    slug: str

    @classmethod
    def from_model(cls, m: Organization) -> OrganizationRecord:
        return cls(m.id, m.name, m.slug)

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> OrganizationRecord:
        return cls(_uuid(d["id"]), d["name"], d["slug"])


@dataclass(frozen=True, slots=True)
class EventBundle:
    """Everything of one event that does not depend on the viewer or on sales: what the
    public event page shows apart from ticket types and availability."""

    event: EventRecord
    organization: OrganizationRecord
    venue: VenueRecord | None
    occurrences: tuple[OccurrenceRecord, ...]
    assets: tuple[AssetRecord, ...]

    def dumps(self) -> bytes:
        # default=str: asyncpg hands back its own UUID type, which orjson does not know.
        return orjson.dumps({"v": BUNDLE_VERSION, "bundle": self}, default=str)

    @classmethod
    def loads(cls, raw: bytes) -> EventBundle | None:
        """None for a body written by another bundle version (treated as a miss)."""
        data = orjson.loads(raw)
        if data.get("v") != BUNDLE_VERSION:
            return None
        b = data["bundle"]
        return cls(
            event=EventRecord.from_json(b["event"]),
            organization=OrganizationRecord.from_json(b["organization"]),
            venue=VenueRecord.from_json(b["venue"]) if b["venue"] else None,
            occurrences=tuple(OccurrenceRecord.from_json(o) for o in b["occurrences"]),
            assets=tuple(AssetRecord.from_json(a) for a in b["assets"]),
        )
