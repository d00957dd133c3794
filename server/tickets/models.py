from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin, pg_enum


class TicketStatus(StrEnum):
    VALID = "valid"
    USED = "used"
    CANCELLED = "cancelled"
    TRANSFERRED = "transferred"


class TransferStatus(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    CANCELLED = "cancelled"


class Ticket(IdMixin, TimestampMixin, Base):
    """One admission to one occurrence. `qr_payload` is the signed code printed on the
    ticket (server.tickets.qr); it embeds the ticket's id, so no two tickets share one. It
    never changes, so a transfer retires this row (TRANSFERRED) and issues a new one to the
    recipient (`transferred_from_id`).

    Partitioned by month of `id` (docs/partitioning.md), which only a unique key holding
    `id` can span. `position` numbers the admissions of an order item, and an admission's
    ticket id is derived from the order and (item, position) (`admission_id`), so the
    primary key lets an order's tickets be issued once, whatever calls `issue_tickets`
    twice; and they share their order's partition."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_order_id", "order_id"),
        Index("ix_tickets_holder_user_id", "holder_user_id"),
        Index("ix_tickets_occurrence_id_status", "occurrence_id", "status"),
        CheckConstraint("position >= 0", name="position_not_negative"),
        {"postgresql_partition_by": "RANGE (id)"},
    )

    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE")
    )
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    order_item_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("order_items.id", ondelete="CASCADE")
    )
    position: Mapped[int] = mapped_column(Integer)
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE")
    )
    event_seat_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("event_seats.id", ondelete="SET NULL")
    )
    holder_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    holder_email: Mapped[str] = mapped_column(String(254))
    status: Mapped[TicketStatus] = mapped_column(
        pg_enum(TicketStatus, "ticket_status"), default=TicketStatus.VALID
    )
    serial: Mapped[bytes] = mapped_column(LargeBinary(16))  # random, signed into the QR payload
    qr_payload: Mapped[str] = mapped_column(String(255))
    transferred_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
    issued_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]


# The order tickets were issued in (an admission's id is derived, so it does not sort by
# issue as a fresh id does): by time, order item and position.
ISSUE_ORDER = (Ticket.issued_at, Ticket.order_item_id, Ticket.position, Ticket.id)

# Guest tickets are found by their holder's email, whatever its case.
Index("ix_tickets_holder_email_lower", func.lower(Ticket.holder_email))


class CheckIn(IdMixin, Base):
    """A ticket admitted at the gate. The unique (ticket, occurrence) constraint is what
    lets exactly one of several simultaneous scans of one ticket succeed."""

    __tablename__ = "check_ins"
    __table_args__ = (
        UniqueConstraint("ticket_id", "occurrence_id"),
        Index("ix_check_ins_occurrence_id_at", "occurrence_id", "at"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE")
    )
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    at: Mapped[datetime]
    location: Mapped[str | None] = mapped_column(String(200))
    scanned_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    scanned_by_api_key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL")
    )


class TicketTransfer(IdMixin, TimestampMixin, Base):
    """A holder's offer of a ticket to someone else, accepted by whoever signs in with
    `recipient_email` and presents the token (only its SHA-256 is stored). At most one
    offer per ticket is pending (partial unique index)."""

    __tablename__ = "ticket_transfers"
    __table_args__ = (
        Index(
            "uq_ticket_transfers_pending",
            "ticket_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_ticket_transfers_ticket_id", "ticket_id"),
        Index("ix_ticket_transfers_recipient_email", "recipient_email"),
    )

    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    organization_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    from_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    recipient_email: Mapped[str] = mapped_column(String(254))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[TransferStatus] = mapped_column(
        pg_enum(TransferStatus, "transfer_status"), default=TransferStatus.PENDING
    )
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    accepted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None]
    new_ticket_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("tickets.id", ondelete="SET NULL")
    )
