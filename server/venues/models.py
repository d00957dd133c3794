from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class Venue(IdMixin, TimestampMixin, Base):
    __tablename__ = "venues"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(500))
    timezone: Mapped[str] = mapped_column(String(64))


class Seatmap(IdMixin, TimestampMixin, Base):
    __tablename__ = "seatmaps"

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    venue_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("venues.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    seat_count: Mapped[int] = mapped_column(Integer, default=0)


class Seat(IdMixin, Base):
    """A seat of a venue's seatmap. Events never sell these rows directly: creating an
    event copies them into its own snapshot (`event_seats`, by trigger)."""

    __tablename__ = "seats"
    __table_args__ = (
        UniqueConstraint("seatmap_id", "section", "row", "number"),
        Index("ix_seats_seatmap_id_section", "seatmap_id", "section"),
    )

    seatmap_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("seatmaps.id", ondelete="CASCADE"))
    section: Mapped[str] = mapped_column(String(64))
    row: Mapped[str] = mapped_column(String(16))
    number: Mapped[str] = mapped_column(String(16))
