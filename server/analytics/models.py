"""The analytics rollup: an event's settled facts, hour by hour, up to its mark.

Facts are the things analytics add up that never change once they have happened: an order
paid (its money, its tickets, by type), a refund that succeeded, a check-in. Each is dated
(`orders.confirmed_at`, the refund's `updated_at` when it succeeded, `check_ins.at`), so
"every fact before the mark" is well defined. The rows are recomputed from the tables by
`server.analytics.rollup.fold`, never incremented; a read adds the facts at or after the
mark, read live (server.analytics.figures)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base


class AnalyticsMark(Base):
    """Every fact of the event dated before `folded_before` is in the rollup rows, and
    none dated at or after it. Moved forward only, with the rows, in one statement."""

    __tablename__ = "analytics_marks"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    folded_before: Mapped[datetime]
    folded_at: Mapped[datetime]


class AnalyticsHour(Base):
    """One date's facts in one UTC hour (only hours that have any)."""

    __tablename__ = "analytics_hours"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    orders: Mapped[int] = mapped_column(Integer)  # paid in the hour
    tickets: Mapped[int] = mapped_column(Integer)  # of those orders
    gross_minor: Mapped[int] = mapped_column(BigInteger)
    discounts_minor: Mapped[int] = mapped_column(BigInteger)
    fees_minor: Mapped[int] = mapped_column(BigInteger)
    refunds_minor: Mapped[int] = mapped_column(BigInteger)  # refunds that succeeded in the hour
    check_ins: Mapped[int] = mapped_column(Integer)


class AnalyticsTypeHour(Base):
    """One date's paid tickets of one ticket type in one UTC hour."""

    __tablename__ = "analytics_type_hours"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("events.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("event_occurrences.id", ondelete="CASCADE"), primary_key=True
    )
    ticket_type_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("ticket_types.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    tickets: Mapped[int] = mapped_column(Integer)
    gross_minor: Mapped[int] = mapped_column(BigInteger)
