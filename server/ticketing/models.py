from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    ARRAY,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, pg_enum


class Visibility(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class SeatState(StrEnum):
    HELD = "held"
    RESERVED = "reserved"
    SOLD = "sold"


class TicketType(IdMixin, TimestampMixin, Base):
    __tablename__ = "ticket_types"
    __table_args__ = (
        Index("ix_ticket_types_event_id", "event_id"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint(
            "min_per_order >= 1 AND max_per_order >= min_per_order", name="order_limits"
        ),
        CheckConstraint(
            "max_per_buyer IS NULL OR max_per_buyer >= min_per_order", name="buyer_limit"
        ),
        CheckConstraint(
            "sales_end IS NULL OR sales_start IS NULL OR sales_end > sales_start",
            name="sales_window",
        ),
        CheckConstraint(
            "waitlist_offer_ttl BETWEEN 60 AND 604800", name="waitlist_offer_ttl_range"
        ),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    quantity: Mapped[int] = mapped_column(Integer)  # per occurrence
    min_per_order: Mapped[int] = mapped_column(Integer, default=1)
    max_per_order: Mapped[int] = mapped_column(Integer, default=10)
    max_per_buyer: Mapped[int | None] = mapped_column(Integer)
    sales_start: Mapped[datetime | None]
    sales_end: Mapped[datetime | None]
    visibility: Mapped[Visibility] = mapped_column(
        pg_enum(Visibility, "visibility"), default=Visibility.PUBLIC
    )
    sections: Mapped[list[str]] = mapped_column(
        ARRAY(String(64)), default=list, server_default="{}"
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Sold out: buyers may join a waitlist; freed units are offered to them in order, each
    # offer a hold lasting `waitlist_offer_ttl` seconds (see server/waitlist).
    waitlist_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    waitlist_offer_ttl: Mapped[int] = mapped_column(Integer, default=3600, server_default="3600")


class PriceTier(IdMixin, TimestampMixin, Base):
    """A price in force for a time window and/or for the first `max_quantity` tickets.
    Windows of one ticket type never overlap (exclusion constraint); when the tier in its
    window is used up, the ticket type's base price applies."""

    __tablename__ = "price_tiers"
    __table_args__ = (
        CheckConstraint("price_minor >= 0", name="price_not_negative"),
        CheckConstraint(
            "ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at", name="window"
        ),
        CheckConstraint("max_quantity IS NULL OR max_quantity > 0", name="max_quantity_positive"),
        CheckConstraint(
            "allocated >= 0 AND (max_quantity IS NULL OR allocated <= max_quantity)",
            name="within_max",
        ),
        ExcludeConstraint(
            ("ticket_type_id", "="),
            (text("tstzrange(starts_at, ends_at, '[)')"), "&&"),
            name="excl_price_tiers_no_overlap",
            using="gist",
        ),
    )

    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(100))
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    max_quantity: Mapped[int | None] = mapped_column(Integer)
    allocated: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Inventory(IdMixin, TimestampMixin, Base):
    """What one ticket type has left for one occurrence. Every reservation is a single
    conditional UPDATE of this row (see docs/inventory.md); the check constraint is the
    backstop that makes an oversell impossible even for a buggy caller."""

    __tablename__ = "inventory"
    __table_args__ = (
        UniqueConstraint("ticket_type_id", "occurrence_id"),
        Index("ix_inventory_occurrence_id", "occurrence_id"),
        Index("ix_inventory_event_id", "event_id"),
        CheckConstraint(
            "sold >= 0 AND reserved >= 0 AND held >= 0 AND sold + reserved + held <= quantity",
            name="never_oversold",
        ),
    )

    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    sold: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    reserved: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Hold(IdMixin, TimestampMixin, Base):
    """Inventory set aside for a group or VIP until `expires_at`; orders that present the
    token draw from it. `quantity - used` units are counted in `inventory.held` until the
    hold is released (by `releaseHold`, or by expiry, exactly once: `released_at`)."""

    __tablename__ = "holds"
    __table_args__ = (
        Index("ix_holds_active_expiry", "expires_at", postgresql_where=text("released_at IS NULL")),
        Index("ix_holds_inventory_id", "inventory_id"),
        CheckConstraint("quantity > 0 AND used >= 0 AND used <= quantity", name="usage"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    inventory_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inventory.id", ondelete="CASCADE"))
    quantity: Mapped[int] = mapped_column(Integer)
    used: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    token: Mapped[str] = mapped_column(String(64), unique=True)
    note: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime]
    released_at: Mapped[datetime | None]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )


class SeatAllocation(IdMixin, TimestampMixin, Base):
    """A seat taken for one occurrence (held, reserved by a pending order, or sold). The
    partial unique index lets at most one active allocation exist per seat and date: a
    second buyer's INSERT fails, whatever the timing."""

    __tablename__ = "seat_allocations"
    __table_args__ = (
        Index(
            "uq_seat_allocations_active",
            "occurrence_id",
            "event_seat_id",
            unique=True,
            postgresql_where=text("released_at IS NULL"),
        ),
        Index("ix_seat_allocations_order_id", "order_id"),
        Index("ix_seat_allocations_hold_id", "hold_id"),
    )

    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE")
    )
    event_seat_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_seats.id", ondelete="CASCADE")
    )
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    state: Mapped[SeatState] = mapped_column(pg_enum(SeatState, "seat_state"))
    hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id", ondelete="CASCADE"))
    order_id: Mapped[uuid.UUID | None] = mapped_column(
        # Deferred: an order's seats are taken before its row is inserted (lock order).
        ForeignKey(
            "orders.id", ondelete="CASCADE", use_alter=True, deferrable=True, initially="DEFERRED"
        )
    )
    expires_at: Mapped[datetime | None]
    released_at: Mapped[datetime | None]
