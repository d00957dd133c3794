from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, pg_enum


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class AssetKind(StrEnum):
    IMAGE = "image"
    PDF = "pdf"
    VIDEO = "video"
    SEATMAP_RENDER = "seatmap_render"


class Event(IdMixin, TimestampMixin, Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_organization_id_status", "organization_id", "status"),
        Index(
            "ix_events_public_listing",
            "first_starts_at",
            "id",
            postgresql_where=text("status = 'published'"),
        ),
        CheckConstraint(
            "refund_deadline_hours IS NULL OR refund_deadline_hours >= 0", name="refund_deadline"
        ),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    venue_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("venues.id", ondelete="RESTRICT"))
    # The venue seatmap this event was created from; its seats are copied into event_seats
    # by the `events_snapshot_seatmap` trigger, so later edits to the venue never change
    # what this event sells.
    seatmap_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("seatmaps.id", ondelete="SET NULL")
    )
    seatmap_name: Mapped[str | None] = mapped_column(String(200))
    slug: Mapped[str] = mapped_column(String(96), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[EventStatus] = mapped_column(
        pg_enum(EventStatus, "event_status"), default=EventStatus.DRAFT
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    refund_policy: Mapped[str | None] = mapped_column(Text)
    transfer_allowed: Mapped[bool] = mapped_column(Boolean, default=True)
    cancellation_policy: Mapped[str | None] = mapped_column(Text)
    refund_deadline_hours: Mapped[int | None] = mapped_column(Integer)
    guest_checkout: Mapped[bool] = mapped_column(Boolean, default=True)
    first_starts_at: Mapped[datetime | None]
    last_starts_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    search: Mapped[str | None] = mapped_column(
        TSVECTOR,
        Computed("to_tsvector('simple', coalesce(title, ''))", persisted=True),
        deferred=True,
    )


# Substring search on titles (ILIKE '%jazz%') served by a trigram index.
Index(
    "ix_events_title_trgm",
    func.lower(Event.title).label("title_lower"),
    postgresql_using="gin",
    postgresql_ops={"title_lower": "gin_trgm_ops"},
)


class EventOccurrence(IdMixin, TimestampMixin, Base):
    """One date of an event. `capacity`, when set, is shared by all the event's ticket
    types for this date; `allocated` counts what they have sold, reserved and held, and
    the check constraint makes overselling the room impossible."""

    __tablename__ = "event_occurrences"
    __table_args__ = (
        Index("ix_event_occurrences_event_id_starts_at", "event_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity IS NULL OR capacity > 0", name="capacity_positive"),
        CheckConstraint(
            "allocated >= 0 AND (capacity IS NULL OR allocated <= capacity)", name="within_capacity"
        ),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    capacity: Mapped[int | None] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class EventSeat(IdMixin, Base):
    """The event's own copy of a seat (written by the snapshot trigger)."""

    __tablename__ = "event_seats"
    __table_args__ = (
        UniqueConstraint("event_id", "section", "row", "number"),
        Index("ix_event_seats_event_id_section", "event_id", "section"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, server_default=text("uuidv7()"))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    source_seat_id: Mapped[uuid.UUID | None]
    section: Mapped[str] = mapped_column(String(64))
    row: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(16))


class EventAsset(IdMixin, TimestampMixin, Base):
    __tablename__ = "event_assets"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), index=True
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    kind: Mapped[AssetKind] = mapped_column(pg_enum(AssetKind, "asset_kind"))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(String(255))
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
