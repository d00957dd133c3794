from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Identity, Index, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class OutboxEvent(IdMixin, TimestampMixin, Base):
    """A domain event, written in the same transaction as the change it describes; the
    worker delivers it (outbound webhooks, live updates) after commit. `sequence` gives a
    total order, so deliveries per endpoint follow the order of events."""

    __tablename__ = "outbox_events"
    __table_args__ = (
        Index(
            "ix_outbox_events_undispatched",
            "sequence",
            postgresql_where=text("dispatched_at IS NULL"),
        ),
        Index("ix_outbox_events_organization_id", "organization_id"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, Identity(always=True), unique=True)
    organization_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    dispatched_at: Mapped[datetime | None]
