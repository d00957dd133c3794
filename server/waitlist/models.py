from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, pg_enum


class WaitlistStatus(StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    EXPIRED = "expired"
    LEFT = "left"


ACTIVE_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(IdMixin, TimestampMixin, Base):
    """One buyer waiting for `quantity` units of one ticket type on one date. Entries are
    served in `sequence` order; an offer is a hold (`hold_id`) whose token the buyer
    redeems as createOrder's holdToken. One active entry per email and inventory row."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        Index(
            "uq_waitlist_entries_active_email",
            "inventory_id",
            "email",
            unique=True,
            postgresql_where=text("status IN ('waiting', 'offered')"),
        ),
        Index(
            "ix_waitlist_entries_waiting",
            "inventory_id",
            "sequence",
            postgresql_where=text("status = 'waiting'"),
        ),
        Index(
            "ix_waitlist_entries_offer_expiry",
            "offer_expires_at",
            postgresql_where=text("status = 'offered'"),
        ),
        Index("ix_waitlist_entries_hold_id", "hold_id"),
        Index("ix_waitlist_entries_user_id", "user_id"),
        Index("ix_waitlist_entries_email", "email"),
        Index("ix_waitlist_entries_event_id_status", "event_id", "status"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE")
    )
    inventory_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inventory.id", ondelete="CASCADE"))
    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    email: Mapped[str] = mapped_column(String(254))  # lower case
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[WaitlistStatus] = mapped_column(
        pg_enum(WaitlistStatus, "waitlist_status"), default=WaitlistStatus.WAITING
    )
    hold_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("holds.id", ondelete="SET NULL"))
    offered_at: Mapped[datetime | None]
    offer_expires_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]  # left, expired or removed


class WaitlistPool(Base):
    """Units freed on an inventory row and kept for its waitlist: counted in
    `inventory.held` (so not on public sale) until the offer job turns them into offers or,
    when nobody waits for them any more, gives them back to sale.

    Lock order: the inventory row first, then this row (releases come in holding the
    inventory row already)."""

    __tablename__ = "waitlist_pools"
    __table_args__ = (CheckConstraint("units >= 0", name="units_not_negative"),)

    inventory_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("inventory.id", ondelete="CASCADE"), primary_key=True
    )
    units: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
