from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, IdMixin, TimestampMixin


class PaymentEvent(IdMixin, TimestampMixin, Base):
    """One verified provider webhook, stored once: `(provider, event_id)` is unique, and
    only the request whose insert wins applies the event. `outcome` records what applying
    it did: `applied`, `ignored` (nothing handles its kind) or `rejected` (a handler refused
    it with a domain error, kept in `error_code`/`error_message`)."""

    __tablename__ = "payment_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_id"),
        Index("ix_payment_events_reference", "reference"),
        Index("ix_payment_events_provider_ref", "provider", "provider_ref"),
    )

    provider: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(255))
    event_type: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reference: Mapped[str | None] = mapped_column(String(255))
    provider_ref: Mapped[str | None] = mapped_column(String(255))
    amount_minor: Mapped[int | None] = mapped_column(BigInteger)
    currency: Mapped[str | None] = mapped_column(String(3))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(32))
    error_message: Mapped[str | None] = mapped_column(Text)
